//! The rules of each send, in the order LinkedIn checks them: the account's standing, the
//! request itself, the lead, then the caps; only a send that passes them all is performed, planned
//! for (acceptance, replies) and written to the ledger.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use plera_domain::ids::{AccountId, LeadId, ProviderAccountId};
use plera_domain::ports::{
    AccountStatusSignal, EmailReceipt, EmailRequest, GatewayError, GatewayErrorKind, InboundEvent,
    InviteReceipt, InviteRequest, MessageReceipt, MessageRequest,
};
use plera_domain::values::{Action, Channel};

use super::super::behaviour::{self, PlannedReply};
use super::super::enforcement::{Account, Refusal};
use super::super::ledger::LedgerEntry;
use super::super::notifications::NotificationQueue;
use super::{normalise_address, Inbox, Lead, WorldState};

impl WorldState {
    /// A new invite: checked, then planned for (acceptance, reply) and written to the ledger.
    pub(super) fn perform_invite(
        &mut self,
        request: &InviteRequest,
        now: DateTime<Utc>,
    ) -> Result<InviteReceipt, GatewayError> {
        self.advance_accounts(now);
        let id = &request.account;
        let account = sender(&mut self.accounts, id, &request.provider_account)?;
        account.check_standing(id, now)?;
        if let Some(note) = &request.note {
            let (chars, max) = (note.chars().count(), account.tier.max_note_chars());
            if chars > max {
                return Err(GatewayError::new(
                    GatewayErrorKind::NoteTooLong,
                    format!("too_many_characters: the note has {chars} characters, at most {max} are allowed"),
                ));
            }
        }
        let lead = recipient(&mut self.leads, &request.lead)?;
        if lead.connected(id, now) {
            return Err(GatewayError::new(
                GatewayErrorKind::AlreadyConnected,
                format!(
                    "already_connected: {} is already a connection",
                    request.lead
                ),
            ));
        }
        if lead.invited_by.contains_key(id) {
            return Err(GatewayError::new(
                GatewayErrorKind::CannotInviteLeadYet,
                "Delay new invitation to this recipient",
            ));
        }
        let caps = self.config.caps.for_tier(account.tier);
        if let Err(error) = account.check_invite_caps(caps, now) {
            let refusal = account.refuse(id, self.config.restriction, error, now);
            return Err(announce(&mut self.queue, id, refusal));
        }
        let usage = account.record_invite(caps, now);
        let with_note = request
            .note
            .as_deref()
            .is_some_and(|n| !n.trim().is_empty());
        let plan = behaviour::plan_invite(&self.config, &request.lead, id, with_note, now);
        lead.invited_by.insert(id.clone(), plan.accepted_at);
        if let Some(at) = plan.accepted_at {
            self.record_relation(id, &request.lead, at);
        }
        if let Some(at) = plan.notified_at {
            self.queue.push(
                at,
                format!("accepted/{id}/{}", request.lead),
                InboundEvent::InviteAccepted {
                    account: id.clone(),
                    lead: request.lead.clone(),
                    at,
                },
            );
        }
        if let Some(reply) = plan.reply {
            self.queue_reply(Inbox::Account(id.clone()), &request.lead, reply);
        }
        let receipt = InviteReceipt {
            invitation_id: behaviour::provider_id(self.config.seed, "inv", "invite", &request.key),
            usage: Some(usage),
            at: now,
        };
        self.invites.insert(request.key.clone(), receipt.clone());
        self.ledger.push(LedgerEntry {
            at: now,
            account_id: Some(id.clone()),
            lead_id: request.lead.clone(),
            action: Action::Invite,
            key: request.key.to_string(),
            note: request.note.clone(),
            text: None,
            subject: None,
            mailbox: None,
        });
        Ok(receipt)
    }

    /// A new direct message: checked, then planned for (reply) and written to the ledger.
    pub(super) fn perform_message(
        &mut self,
        request: &MessageRequest,
        now: DateTime<Utc>,
    ) -> Result<MessageReceipt, GatewayError> {
        self.advance_accounts(now);
        let id = &request.account;
        let account = sender(&mut self.accounts, id, &request.provider_account)?;
        account.check_standing(id, now)?;
        let lead = recipient(&mut self.leads, &request.lead)?;
        if !lead.connected(id, now) {
            return Err(GatewayError::new(
                GatewayErrorKind::NotConnected,
                format!(
                    "no_connection_with_recipient: {} is not a connection of {id}",
                    request.lead
                ),
            ));
        }
        let caps = self.config.caps.for_tier(account.tier);
        if let Err(error) = account.check_message_caps(caps, now) {
            let refusal = account.refuse(id, self.config.restriction, error, now);
            return Err(announce(&mut self.queue, id, refusal));
        }
        account.record_message(now);
        let key = request.key.to_string();
        let labels = [request.lead.as_str(), id.as_str(), "reply-to-message", &key];
        let replies = [
            behaviour::plan_reply(&self.config, &labels, self.config.dm_reply_rate, now),
            behaviour::plan_auto_reply(&self.config, &labels, now),
        ];
        for reply in replies.into_iter().flatten() {
            self.queue_reply(Inbox::Account(id.clone()), &request.lead, reply);
        }
        let receipt = MessageReceipt {
            message_id: behaviour::provider_id(self.config.seed, "out", "message", &request.key),
            at: now,
        };
        self.messages.insert(request.key.clone(), receipt.clone());
        self.ledger.push(LedgerEntry {
            at: now,
            account_id: Some(id.clone()),
            lead_id: request.lead.clone(),
            action: Action::Message,
            key,
            note: None,
            text: Some(request.text.clone()),
            subject: None,
            mailbox: None,
        });
        Ok(receipt)
    }

    /// A new email: the address must be a lead's; no account, caps or session involved.
    pub(super) fn perform_email(
        &mut self,
        request: &EmailRequest,
        now: DateTime<Utc>,
    ) -> Result<EmailReceipt, GatewayError> {
        let lead = self
            .addresses
            .get(&normalise_address(&request.to))
            .and_then(|leads| leads.first())
            .cloned()
            .ok_or_else(|| {
                GatewayError::new(
                    GatewayErrorKind::RecipientRefused,
                    "invalid_recipient: no mailbox at this address",
                )
            })?;
        let key = request.key.to_string();
        let labels = [
            lead.as_str(),
            request.mailbox.as_str(),
            "reply-to-email",
            &key,
        ];
        let replies = [
            behaviour::plan_reply(&self.config, &labels, self.config.email_reply_rate, now),
            behaviour::plan_auto_reply(&self.config, &labels, now),
        ];
        for reply in replies.into_iter().flatten() {
            self.queue_reply(Inbox::Mailbox(request.mailbox.clone()), &lead, reply);
        }
        let receipt = EmailReceipt {
            message_id: behaviour::provider_id(self.config.seed, "eml", "email", &request.key),
            at: now,
        };
        self.emails.insert(request.key.clone(), receipt.clone());
        self.ledger.push(LedgerEntry {
            at: now,
            account_id: None,
            lead_id: lead,
            action: Action::Email,
            key,
            note: None,
            text: None,
            subject: Some(request.subject.clone()),
            mailbox: Some(request.mailbox.clone()),
        });
        Ok(receipt)
    }

    /// Records a lead's answer in its inbox and plans its notification, keyed by its unique id.
    fn queue_reply(&mut self, inbox: Inbox, lead: &LeadId, reply: PlannedReply) {
        let (account, channel) = match &inbox {
            Inbox::Account(id) => (Some(id.clone()), Channel::Linkedin),
            Inbox::Mailbox(_) => (None, Channel::Email),
        };
        let event = InboundEvent::MessageReceived {
            account,
            lead: lead.clone(),
            channel,
            message_id: reply.message_id.clone(),
            text: reply.text,
            at: reply.at,
        };
        let key = reply.message_id.to_string();
        self.record_inbound(inbox, key.clone(), reply.at, event.clone());
        self.queue.push(reply.at, key, event);
    }
}

/// Plans the status notices of a restriction the refusal caused (its start and its end, when
/// the account is OK again); returns the answer to give.
fn announce(queue: &mut NotificationQueue, id: &AccountId, refusal: Refusal) -> GatewayError {
    if let Some((from, until)) = refusal.restricted {
        queue.status(id, AccountStatusSignal::Restricted, from);
        queue.status(id, AccountStatusSignal::Ok, until);
    }
    refusal.error
}

/// The sending account, if the provider knows it under that provider id.
fn sender<'a>(
    accounts: &'a mut BTreeMap<AccountId, Account>,
    id: &AccountId,
    provider: &ProviderAccountId,
) -> Result<&'a mut Account, GatewayError> {
    match accounts.get_mut(id) {
        Some(account) if &account.provider == provider => Ok(account),
        _ => Err(GatewayError::new(
            GatewayErrorKind::SessionExpired,
            format!("disconnected_account: no connected account {provider} for {id}"),
        )),
    }
}

/// The lead, if the provider can find them.
fn recipient<'a>(
    leads: &'a mut BTreeMap<LeadId, Lead>,
    id: &LeadId,
) -> Result<&'a mut Lead, GatewayError> {
    leads.get_mut(id).ok_or_else(|| {
        GatewayError::new(
            GatewayErrorKind::RecipientRefused,
            format!("invalid_recipient: no LinkedIn member {id}"),
        )
    })
}
