//! The domain's gateway ports on the sandbox. Each call reads the clock, then does all its work
//! under the lock in one synchronous step: the lock is never held across an `.await`.

use async_trait::async_trait;
use plera_domain::ports::{
    EmailGateway, EmailReceipt, EmailRequest, GatewayError, InviteReceipt, InviteRequest,
    LinkedInGateway, MessageReceipt, MessageRequest, StepKey,
};

use super::world::SandboxWorld;

#[async_trait]
impl LinkedInGateway for SandboxWorld {
    async fn send_invite(&self, request: InviteRequest) -> Result<InviteReceipt, GatewayError> {
        let now = self.now();
        self.lock().invite(&request, now)
    }

    async fn send_message(&self, request: MessageRequest) -> Result<MessageReceipt, GatewayError> {
        let now = self.now();
        self.lock().message(&request, now)
    }

    async fn find_invite(&self, key: &StepKey) -> Result<Option<InviteReceipt>, GatewayError> {
        Ok(self.lock().find_invite(key))
    }

    async fn find_message(&self, key: &StepKey) -> Result<Option<MessageReceipt>, GatewayError> {
        Ok(self.lock().find_message(key))
    }
}

#[async_trait]
impl EmailGateway for SandboxWorld {
    async fn send_email(&self, request: EmailRequest) -> Result<EmailReceipt, GatewayError> {
        let now = self.now();
        self.lock().email(&request, now)
    }

    async fn find_email(&self, key: &StepKey) -> Result<Option<EmailReceipt>, GatewayError> {
        Ok(self.lock().find_email(key))
    }
}
