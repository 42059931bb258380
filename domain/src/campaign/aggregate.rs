use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{AccountId, CampaignId, MailboxId, WorkspaceId};
use crate::play::Play;

/// Events of the `Campaign` aggregate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CampaignEvent {
    /// A campaign was created with its play and senders.
    CampaignCreated {
        /// Workspace of the campaign.
        workspace_id: WorkspaceId,
        /// The campaign.
        campaign_id: CampaignId,
        /// Display name.
        name: String,
        /// The play, in full.
        play: Play,
        /// Senders whose quota the campaign draws on.
        senders: Vec<AccountId>,
        /// Mailbox for email steps.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mailbox_id: Option<MailboxId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The campaign's senders changed (new leads are spread over the new set).
    CampaignSendersChanged {
        /// The new set.
        senders: Vec<AccountId>,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for CampaignEvent {
    fn event_type(&self) -> String {
        match self {
            CampaignEvent::CampaignCreated { .. } => "CampaignCreated",
            CampaignEvent::CampaignSendersChanged { .. } => "CampaignSendersChanged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_string()
    }
}

/// Commands to the `Campaign` aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum CampaignCommand {
    /// Create the campaign; the play must be valid and at least one sender given when it has
    /// LinkedIn steps.
    Create {
        /// Workspace.
        workspace_id: WorkspaceId,
        /// The campaign.
        campaign_id: CampaignId,
        /// Display name.
        name: String,
        /// The play.
        play: Play,
        /// Senders.
        senders: Vec<AccountId>,
        /// Mailbox.
        mailbox_id: Option<MailboxId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Replace the senders.
    ChangeSenders {
        /// The new set.
        senders: Vec<AccountId>,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Why the `Campaign` aggregate refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CampaignError {
    /// The campaign exists.
    #[error("the campaign already exists")]
    AlreadyExists,
    /// The campaign does not exist.
    #[error("the campaign does not exist")]
    NotFound,
    /// The play has LinkedIn steps but no sender was given.
    #[error("a play with LinkedIn steps needs at least one sender")]
    NoSenders,
    /// The play has email steps but no mailbox was given.
    #[error("a play with email steps needs a mailbox")]
    NoMailbox,
    /// The same sender twice.
    #[error("sender {0} is listed twice")]
    DuplicateSender(AccountId),
}

/// A campaign's state: its play and senders.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    workspace_id: Option<WorkspaceId>,
    campaign_id: Option<CampaignId>,
    name: String,
    play: Option<Play>,
    senders: Vec<AccountId>,
    mailbox_id: Option<MailboxId>,
}

impl Campaign {
    /// Whether the campaign was created.
    pub fn exists(&self) -> bool {
        self.campaign_id.is_some()
    }

    /// Its workspace.
    pub fn workspace_id(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }

    /// Its id.
    pub fn campaign_id(&self) -> Option<&CampaignId> {
        self.campaign_id.as_ref()
    }

    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its play.
    pub fn play(&self) -> Option<&Play> {
        self.play.as_ref()
    }

    /// Its senders.
    pub fn senders(&self) -> &[AccountId] {
        &self.senders
    }

    /// Its mailbox.
    pub fn mailbox_id(&self) -> Option<&MailboxId> {
        self.mailbox_id.as_ref()
    }

    fn check_endpoints(
        play: &Play,
        senders: &[AccountId],
        mailbox: Option<&MailboxId>,
    ) -> Result<(), CampaignError> {
        if play.steps.iter().any(|s| s.action.is_linkedin()) && senders.is_empty() {
            return Err(CampaignError::NoSenders);
        }
        if play.steps.iter().any(|s| !s.action.is_linkedin()) && mailbox.is_none() {
            return Err(CampaignError::NoMailbox);
        }
        for (i, s) in senders.iter().enumerate() {
            if senders[..i].contains(s) {
                return Err(CampaignError::DuplicateSender(s.clone()));
            }
        }
        Ok(())
    }
}

impl Aggregate for Campaign {
    const TYPE: &'static str = "campaign";
    type Command = CampaignCommand;
    type Event = CampaignEvent;
    type Error = CampaignError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            CampaignCommand::Create {
                workspace_id,
                campaign_id,
                name,
                play,
                senders,
                mailbox_id,
                at,
            } => {
                if self.exists() {
                    return Err(CampaignError::AlreadyExists);
                }
                Self::check_endpoints(&play, &senders, mailbox_id.as_ref())?;
                let event = CampaignEvent::CampaignCreated {
                    workspace_id,
                    campaign_id,
                    name,
                    play,
                    senders,
                    mailbox_id,
                    at,
                };
                sink.write(event, self).await;
            }
            CampaignCommand::ChangeSenders { senders, at } => {
                let play = self.play.as_ref().ok_or(CampaignError::NotFound)?;
                Self::check_endpoints(play, &senders, self.mailbox_id.as_ref())?;
                sink.write(CampaignEvent::CampaignSendersChanged { senders, at }, self)
                    .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CampaignEvent::CampaignCreated {
                workspace_id,
                campaign_id,
                name,
                play,
                senders,
                mailbox_id,
                ..
            } => {
                self.workspace_id = Some(workspace_id);
                self.campaign_id = Some(campaign_id);
                self.name = name;
                self.play = Some(play);
                self.senders = senders;
                self.mailbox_id = mailbox_id;
            }
            CampaignEvent::CampaignSendersChanged { senders, .. } => self.senders = senders,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::play::{Condition, Delay, PlayStep};
    use crate::values::Action;
    use chrono::TimeZone;
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn play(actions: &[Action]) -> Play {
        Play {
            name: "p".into(),
            description: String::new(),
            steps: actions
                .iter()
                .map(|a| PlayStep {
                    action: *a,
                    template: Some("Hi {{first_name}}".into()),
                    subject: Some("Hello".into()),
                    delay: Delay::days(1),
                    condition: Condition::Always,
                })
                .collect(),
        }
    }

    fn create(play: Play, senders: Vec<AccountId>, mailbox: Option<MailboxId>) -> CampaignCommand {
        CampaignCommand::Create {
            workspace_id: "ws".into(),
            campaign_id: "c1".into(),
            name: "Q1".into(),
            play,
            senders,
            mailbox_id: mailbox,
            at: at(),
        }
    }

    fn created() -> CampaignEvent {
        CampaignEvent::CampaignCreated {
            workspace_id: "ws".into(),
            campaign_id: "c1".into(),
            name: "Q1".into(),
            play: play(&[Action::Invite, Action::Email]),
            senders: vec!["a1".into()],
            mailbox_id: Some("mb".into()),
            at: at(),
        }
    }

    #[test]
    fn creates_a_campaign_with_its_play() {
        TestFramework::<Campaign>::with(())
            .given_no_previous_events()
            .when(create(
                play(&[Action::Invite, Action::Email]),
                vec!["a1".into()],
                Some("mb".into()),
            ))
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn refuses_a_second_create() {
        TestFramework::<Campaign>::with(())
            .given(vec![created()])
            .when(create(play(&[Action::Invite]), vec!["a1".into()], None))
            .then_expect_error(CampaignError::AlreadyExists);
    }

    #[test]
    fn linkedin_steps_need_a_sender_and_email_steps_a_mailbox() {
        TestFramework::<Campaign>::with(())
            .given_no_previous_events()
            .when(create(play(&[Action::Invite]), vec![], None))
            .then_expect_error(CampaignError::NoSenders);
        TestFramework::<Campaign>::with(())
            .given_no_previous_events()
            .when(create(play(&[Action::Email]), vec![], None))
            .then_expect_error(CampaignError::NoMailbox);
    }

    #[test]
    fn refuses_a_sender_listed_twice() {
        TestFramework::<Campaign>::with(())
            .given_no_previous_events()
            .when(create(
                play(&[Action::Invite]),
                vec!["a1".into(), "a1".into()],
                None,
            ))
            .then_expect_error(CampaignError::DuplicateSender("a1".into()));
    }

    #[test]
    fn changes_senders_of_an_existing_campaign_only() {
        TestFramework::<Campaign>::with(())
            .given(vec![created()])
            .when(CampaignCommand::ChangeSenders {
                senders: vec!["a2".into()],
                at: at(),
            })
            .then_expect_events(vec![CampaignEvent::CampaignSendersChanged {
                senders: vec!["a2".into()],
                at: at(),
            }]);
        TestFramework::<Campaign>::with(())
            .given_no_previous_events()
            .when(CampaignCommand::ChangeSenders {
                senders: vec!["a2".into()],
                at: at(),
            })
            .then_expect_error(CampaignError::NotFound);
    }
}
