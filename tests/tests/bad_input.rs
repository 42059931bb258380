//! Bad input to every public entry of the Engine API: unknown ids, another workspace's ids,
//! malformed plays and templates, over-long notes, absurd limits, duplicate commands and empty
//! ids each get a typed, clear error, and the log is exactly what it was before the call.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::store::{EventLog, StoredEvent};
use plera_actors::{
    CampaignSpec, Engine, EngineError, EnrollOptions, LeadProfile, LeadSpec, SenderSettings,
    SequentialIds, VirtualClock,
};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::store::{open_store, Store};
use plera_adapters::views::Views;
use plera_domain::campaign::CampaignError;
use plera_domain::ids::{
    AccountId, CampaignId, LeadId, MailboxId, OwnerId, ProviderAccountId, ProviderMessageId,
    WorkspaceId,
};
use plera_domain::lead::StopReason;
use plera_domain::play::{Condition, Play, PlayStep};
use plera_domain::ports::{AccountStatusSignal, Clock, InboundEvent};
use plera_domain::sender::SenderAccountError;
use plera_domain::values::{Action, Channel, ConnectionDegree, Limits, Tier, WorkingHours};
use plera_domain::workspace::WorkspaceError;
use plera_projections::queries::InboxFilter;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn settings(tier: Tier) -> SenderSettings {
    SenderSettings {
        tier,
        limits: None,
        timezone: chrono_tz::Europe::London,
        working_hours: WorkingHours::parse("09:00", "17:00").expect("valid hours"),
        warm_up: false,
    }
}

/// An engine with views on a SQLite file, and two workspaces: `ws` (sender, mailbox, campaign,
/// an enrolled lead) and `other` (its own sender and campaign).
struct Fixture {
    engine: Engine,
    world: SandboxWorld,
    clock: Arc<VirtualClock>,
    log: Arc<dyn EventLog>,
    store: Store,
    ws: WorkspaceId,
    other: WorkspaceId,
    sender: AccountId,
    other_sender: AccountId,
    campaign: CampaignId,
    other_campaign: CampaignId,
    lead: LeadId,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("plera.db").display());
        let store = open_store(&url).await.expect("store");
        let clock = Arc::new(VirtualClock::new(monday()));
        let world = SandboxWorld::new(
            SandboxConfig {
                session_expiry_per_account_day: 0.0,
                ..SandboxConfig::seeded(5)
            },
            clock.clone(),
        );
        let engine = Engine::builder()
            .event_log(store.event_log())
            .lead_directory(store.lead_directory())
            .views(Arc::new(Views::new(&store)))
            .linkedin(Arc::new(world.clone()))
            .email(Arc::new(world.clone()))
            .clock(clock.clone())
            .ids(Arc::new(SequentialIds::default()))
            .seed(5)
            .deterministic_tokens()
            .build()
            .await
            .expect("engine");
        let ws = WorkspaceId::new("ws");
        let other = WorkspaceId::new("other");
        let mut f = Fixture {
            log: store.event_log(),
            engine,
            world,
            clock,
            store,
            ws: ws.clone(),
            other: other.clone(),
            sender: AccountId::new(""),
            other_sender: AccountId::new(""),
            campaign: CampaignId::new("camp"),
            other_campaign: CampaignId::new("other-camp"),
            lead: LeadId::new("lead-1"),
            _dir: dir,
        };
        f.sender = f.connect(&ws, "li-1").await;
        f.other_sender = f.connect(&other, "li-2").await;
        for w in [&ws, &other] {
            f.engine
                .register_mailbox(w, &MailboxId::new("mb"), "sales@acme.io")
                .await
                .expect("mailbox");
        }
        let (camp, sender) = (f.campaign.clone(), f.sender.clone());
        f.create(&ws, &camp, vec![sender]).await.expect("campaign");
        let (camp, sender) = (f.other_campaign.clone(), f.other_sender.clone());
        f.create(&other, &camp, vec![sender])
            .await
            .expect("campaign");
        let spec = f.spec("lead-1");
        f.engine
            .enroll(&ws, &f.campaign, spec, EnrollOptions::default())
            .await
            .expect("enroll");
        f
    }

    async fn connect(&self, workspace: &WorkspaceId, provider: &str) -> AccountId {
        let link = self
            .engine
            .start_connection(workspace, &OwnerId::new("owner"), None)
            .await
            .expect("link");
        let account = self
            .engine
            .complete_connection(
                &link.state,
                &ProviderAccountId::new(provider),
                settings(Tier::Premium),
            )
            .await
            .expect("connect");
        self.world.add_account_in(
            account.clone(),
            ProviderAccountId::new(provider),
            Tier::Premium,
            chrono_tz::Europe::London,
        );
        account
    }

    async fn create(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
        senders: Vec<AccountId>,
    ) -> Result<CampaignId, EngineError> {
        self.campaign_with(workspace, id, senders, Play::linkedin_first())
            .await
    }

    async fn campaign_with(
        &self,
        workspace: &WorkspaceId,
        id: &CampaignId,
        senders: Vec<AccountId>,
        play: Play,
    ) -> Result<CampaignId, EngineError> {
        self.engine
            .create_campaign(
                workspace,
                CampaignSpec {
                    id: Some(id.clone()),
                    name: id.to_string(),
                    play,
                    senders,
                    mailbox: Some(MailboxId::new("mb")),
                },
            )
            .await
    }

    fn spec(&self, lead: &str) -> LeadSpec {
        self.world.add_lead(
            LeadId::new(lead),
            SandboxLead {
                email: Some(format!("{lead}@example.com")),
                ..SandboxLead::default()
            },
        );
        LeadSpec {
            lead_id: LeadId::new(lead),
            profile: LeadProfile::new("Ada", "Lovelace", "Acme")
                .with_var("sender_first_name", "Alice")
                .with_email(&format!("{lead}@example.com")),
            connection_degree: ConnectionDegree::Second,
            sender: None,
        }
    }

    async fn events(&self) -> Vec<StoredEvent> {
        self.log.read_after(0, usize::MAX).await.expect("read")
    }

    /// Runs a call that must be refused: returns its error, after checking that the log did
    /// not change and that the error says something.
    async fn refused<T: Debug>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, EngineError>>,
    ) -> EngineError {
        let before = self.events().await;
        let result = call.await;
        let after = self.events().await;
        let error = match result {
            Ok(value) => panic!(
                "{what}: accepted ({value:?}); new: {}",
                added(&before, &after)
            ),
            Err(e) => e,
        };
        assert!(
            before == after,
            "{what}: refused ({error}) but the log changed; new: {}",
            added(&before, &after)
        );
        assert!(
            !error.to_string().trim().is_empty(),
            "{what}: the error says nothing"
        );
        error
    }

    /// Runs a call that may succeed but must change nothing (a repeat of what is done).
    async fn no_change<T: Debug>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        let before = self.events().await;
        let result = call.await;
        let after = self.events().await;
        assert!(
            before == after,
            "{what}: the log changed ({result:?}); new: {}",
            added(&before, &after)
        );
        result
    }

    async fn finish(self) {
        self.engine.clone().shutdown().await;
        self.store.close().await;
    }
}

/// The events of `after` past `before`, briefly.
fn added(before: &[StoredEvent], after: &[StoredEvent]) -> String {
    let new: Vec<String> = after
        .iter()
        .skip(before.len())
        .map(|e| format!("{} {} {}", e.aggregate_id, e.event_type, e.payload))
        .collect();
    if new.is_empty() {
        "none (events were changed in place)".into()
    } else {
        new.join("; ")
    }
}

fn not_found(e: &EngineError, kind: &str, id: &str) -> bool {
    matches!(e, EngineError::NotFound { kind: k, id: i } if *k == kind && i == id)
}

fn reply(lead: &str, id: &str, at: DateTime<Utc>) -> InboundEvent {
    InboundEvent::MessageReceived {
        account: None,
        lead: LeadId::new(lead),
        channel: Channel::Email,
        message_id: ProviderMessageId::new(id),
        text: "Thanks, not now.".into(),
        at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_not_found_and_change_nothing() {
    let f = Fixture::new().await;
    let (ws, nobody) = (&f.ws, AccountId::new("acc-nobody"));
    let e = f
        .refused(
            "limits",
            f.engine
                .change_limits(ws, &nobody, Tier::Premium.default_limits()),
        )
        .await;
    assert!(not_found(&e, "sender", "acc-nobody"), "{e:?}");
    for (what, e) in [
        (
            "pause",
            f.refused("pause", f.engine.pause_sender(ws, &nobody)).await,
        ),
        (
            "resume",
            f.refused("resume", f.engine.resume_sender(ws, &nobody))
                .await,
        ),
        (
            "disconnect",
            f.refused("disconnect", f.engine.disconnect_sender(ws, &nobody))
                .await,
        ),
        (
            "reload",
            f.refused("reload", f.engine.reload_sender(ws, &nobody))
                .await,
        ),
        (
            "reconnect link",
            f.refused(
                "reconnect link",
                f.engine
                    .start_connection(ws, &OwnerId::new("owner"), Some(&nobody)),
            )
            .await,
        ),
        (
            "status",
            f.refused("status", f.engine.sender_status(ws, &nobody))
                .await,
        ),
        (
            "health",
            f.refused("health", f.engine.sender_health(ws, &nobody))
                .await,
        ),
        (
            "campaign with an unknown sender",
            f.refused(
                "campaign with an unknown sender",
                f.create(ws, &CampaignId::new("c2"), vec![nobody.clone()]),
            )
            .await,
        ),
        (
            "status notice of an unknown sender",
            f.refused(
                "status notice",
                f.engine.ingest(
                    ws,
                    InboundEvent::AccountStatus {
                        account: nobody.clone(),
                        status: AccountStatusSignal::Restricted,
                        at: monday(),
                    },
                ),
            )
            .await,
        ),
    ] {
        assert!(not_found(&e, "sender", "acc-nobody"), "{what}: {e:?}");
    }
    let spec = LeadSpec {
        sender: Some(nobody.clone()),
        ..f.spec("lead-2")
    };
    let e = f
        .refused(
            "enroll with an unknown sender",
            f.engine
                .enroll(ws, &f.campaign, spec, EnrollOptions::default()),
        )
        .await;
    assert!(not_found(&e, "sender", "acc-nobody"), "{e:?}");

    let nowhere = CampaignId::new("camp-nowhere");
    let e = f
        .refused(
            "enroll into an unknown campaign",
            f.engine
                .enroll(ws, &nowhere, f.spec("lead-3"), EnrollOptions::default()),
        )
        .await;
    assert!(not_found(&e, "campaign", "camp-nowhere"), "{e:?}");
    let e = f
        .refused("funnel", f.engine.funnel(ws, Some(&nowhere)))
        .await;
    assert!(not_found(&e, "campaign", "camp-nowhere"), "{e:?}");
    let e = f
        .refused("funnel days", f.engine.funnel_days(ws, &nowhere))
        .await;
    assert!(not_found(&e, "campaign", "camp-nowhere"), "{e:?}");

    let stranger = LeadId::new("lead-stranger");
    let e = f
        .refused(
            "stop an unknown lead",
            f.engine.stop_lead(ws, &stranger, StopReason::Manual),
        )
        .await;
    assert!(not_found(&e, "lead", "lead-stranger"), "{e:?}");
    let e = f
        .refused(
            "read an unknown lead",
            f.engine.mark_read(ws, &stranger, None),
        )
        .await;
    assert!(not_found(&e, "lead", "lead-stranger"), "{e:?}");

    let e = f
        .refused(
            "campaign with an unknown mailbox",
            f.engine.create_campaign(
                ws,
                CampaignSpec {
                    id: Some(CampaignId::new("c3")),
                    name: "c3".into(),
                    play: Play::linkedin_first(),
                    senders: vec![f.sender.clone()],
                    mailbox: Some(MailboxId::new("mb-nowhere")),
                },
            ),
        )
        .await;
    assert!(not_found(&e, "mailbox", "mb-nowhere"), "{e:?}");

    // Reads of what does not exist answer empty rather than fail.
    let none = f
        .no_change("sequences", f.engine.lead_sequences(ws, &stranger))
        .await;
    assert_eq!(none.expect("a read").len(), 0);
    // An acceptance of someone in no sequence is noted as such and changes nothing.
    let outcome = f
        .no_change(
            "acceptance of a stranger",
            f.engine.ingest(
                ws,
                InboundEvent::InviteAccepted {
                    account: f.sender.clone(),
                    lead: stranger.clone(),
                    at: monday(),
                },
            ),
        )
        .await;
    assert_eq!(outcome, Ok(plera_actors::IngestOutcome::NoSequence));
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workspaces_ids_are_not_found() {
    let f = Fixture::new().await;
    let (other, theirs) = (&f.other, &f.sender);
    let sender_id = theirs.as_str();
    for (what, e) in [
        (
            "limits",
            f.refused(
                "limits",
                f.engine
                    .change_limits(other, theirs, Tier::Premium.default_limits()),
            )
            .await,
        ),
        (
            "pause",
            f.refused("pause", f.engine.pause_sender(other, theirs))
                .await,
        ),
        (
            "resume",
            f.refused("resume", f.engine.resume_sender(other, theirs))
                .await,
        ),
        (
            "disconnect",
            f.refused("disconnect", f.engine.disconnect_sender(other, theirs))
                .await,
        ),
        (
            "reload",
            f.refused("reload", f.engine.reload_sender(other, theirs))
                .await,
        ),
        (
            "status",
            f.refused("status", f.engine.sender_status(other, theirs))
                .await,
        ),
        (
            "health",
            f.refused("health", f.engine.sender_health(other, theirs))
                .await,
        ),
        (
            "reconnect link",
            f.refused(
                "reconnect link",
                f.engine
                    .start_connection(other, &OwnerId::new("owner"), Some(theirs)),
            )
            .await,
        ),
        (
            "campaign",
            f.refused(
                "campaign",
                f.create(other, &CampaignId::new("c9"), vec![theirs.clone()]),
            )
            .await,
        ),
        (
            "status notice",
            f.refused(
                "status notice",
                f.engine.ingest(
                    other,
                    InboundEvent::AccountStatus {
                        account: theirs.clone(),
                        status: AccountStatusSignal::CredentialsExpired,
                        at: monday(),
                    },
                ),
            )
            .await,
        ),
    ] {
        assert!(not_found(&e, "sender", sender_id), "{what}: {e:?}");
    }
    let e = f
        .refused(
            "enroll into their campaign",
            f.engine.enroll(
                other,
                &f.campaign,
                f.spec("lead-9"),
                EnrollOptions::default(),
            ),
        )
        .await;
    assert!(not_found(&e, "campaign", f.campaign.as_str()), "{e:?}");
    let e = f
        .refused("their funnel", f.engine.funnel(other, Some(&f.campaign)))
        .await;
    assert!(not_found(&e, "campaign", f.campaign.as_str()), "{e:?}");
    let e = f
        .refused(
            "stop their lead",
            f.engine.stop_lead(other, &f.lead, StopReason::Manual),
        )
        .await;
    assert!(not_found(&e, "lead", f.lead.as_str()), "{e:?}");
    let e = f
        .refused(
            "read their lead",
            f.engine.mark_read(other, &f.lead, Some(theirs)),
        )
        .await;
    assert!(
        not_found(&e, "lead", f.lead.as_str()) || not_found(&e, "sender", sender_id),
        "{e:?}"
    );
    // Their lead's sequences are not ours to see.
    let seen = f
        .no_change("their sequences", f.engine.lead_sequences(other, &f.lead))
        .await;
    assert_eq!(seen.expect("a read").len(), 0);
    assert!(!f.engine.senders(other).contains(theirs));
    let threads = f
        .no_change(
            "their inbox",
            f.engine.inbox(
                other,
                InboxFilter {
                    account: Some(theirs.clone()),
                    ..InboxFilter::default()
                },
            ),
        )
        .await;
    assert_eq!(threads.expect("a read").len(), 0);
    f.finish().await;
}

/// One step of a play, with a template.
fn step(action: Action, template: Option<&str>, subject: Option<&str>) -> PlayStep {
    PlayStep {
        action,
        template: template.map(str::to_string),
        subject: subject.map(str::to_string),
        delay: Default::default(),
        condition: Condition::Always,
    }
}

fn play(steps: Vec<PlayStep>) -> Play {
    Play {
        name: "custom".into(),
        description: String::new(),
        steps,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_plays_and_templates_are_refused_with_the_reason() {
    let f = Fixture::new().await;
    let invite = step(Action::Invite, Some("Hi {{first_name}}"), None);
    let message = step(Action::Message, Some("Thanks {{first_name}}"), None);
    let long_note = "x".repeat(301);
    let cases: Vec<(&str, Play, &str)> = vec![
        (
            "no name",
            Play {
                name: " ".into(),
                ..play(vec![invite.clone()])
            },
            "no name",
        ),
        ("no steps", play(vec![]), "no steps"),
        (
            "too many steps",
            play(vec![step(Action::Email, Some("b"), Some("s")); 21]),
            "21 steps",
        ),
        ("message first", play(vec![message.clone()]), "step 1"),
        (
            "two invites",
            play(vec![invite.clone(), invite.clone()]),
            "at most one invite",
        ),
        (
            "message without text",
            play(vec![
                invite.clone(),
                step(Action::Message, Some("  "), None),
            ]),
            "`template` is missing",
        ),
        (
            "email without subject",
            play(vec![step(Action::Email, Some("body"), None)]),
            "`subject` is missing",
        ),
        (
            "unclosed placeholder",
            play(vec![step(Action::Invite, Some("Hi {{first_name"), None)]),
            "not a valid template",
        ),
        (
            "unknown variable",
            play(vec![step(Action::Invite, Some("Hi {{shoe_size}}"), None)]),
            "shoe_size",
        ),
        (
            "subject on an invite",
            play(vec![step(Action::Invite, None, Some("Hello"))]),
            "only email steps",
        ),
        (
            "note over LinkedIn's limit",
            play(vec![step(Action::Invite, Some(&long_note), None)]),
            "301 characters",
        ),
        (
            "zero days",
            play(vec![
                invite.clone(),
                PlayStep {
                    condition: Condition::IfNotAcceptedWithin(0),
                    ..step(Action::Email, Some("b"), Some("s"))
                },
            ]),
            "at least 1 day",
        ),
        (
            "condition without invite",
            play(vec![PlayStep {
                condition: Condition::IfNotAcceptedWithin(3),
                ..step(Action::Email, Some("b"), Some("s"))
            }]),
            "needs an earlier invite",
        ),
    ];
    for (i, (what, bad, says)) in cases.into_iter().enumerate() {
        let id = CampaignId::new(format!("bad-{i}"));
        let e = f
            .refused(
                what,
                f.campaign_with(&f.ws, &id, vec![f.sender.clone()], bad),
            )
            .await;
        match &e {
            EngineError::Play(reason) => assert!(reason.contains(says), "{what}: {reason}"),
            other => panic!("{what}: not a play error: {other:?}"),
        }
    }
    // Text that is no play at all is refused where it is read.
    for text in [
        "",
        "name = ",
        "name = \"x\"\n[[steps]]\naction = \"teleport\"",
    ] {
        assert!(Play::from_toml(text).is_err(), "{text:?}");
    }
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_limits_are_refused_and_a_refused_connection_keeps_its_token() {
    let f = Fixture::new().await;
    for absurd in [
        Limits {
            daily_invites: u32::MAX,
            ..Tier::Premium.default_limits()
        },
        Limits {
            weekly_invites: 1_000_000,
            ..Tier::Premium.default_limits()
        },
        Limits {
            daily_messages: 100_000,
            ..Tier::Premium.default_limits()
        },
    ] {
        let e = f
            .refused(
                "absurd limits",
                f.engine.change_limits(&f.ws, &f.sender, absurd),
            )
            .await;
        assert!(
            matches!(e, EngineError::Sender(SenderAccountError::InvalidLimits(_))),
            "{e:?}"
        );
    }
    let link = f
        .engine
        .start_connection(&f.ws, &OwnerId::new("owner"), None)
        .await
        .expect("link");
    let absurd = SenderSettings {
        limits: Some(Limits {
            daily_invites: 5_000,
            ..Tier::Premium.default_limits()
        }),
        ..settings(Tier::Free)
    };
    let e = f
        .refused(
            "connect with absurd limits",
            f.engine
                .complete_connection(&link.state, &ProviderAccountId::new("li-9"), absurd),
        )
        .await;
    assert!(
        matches!(e, EngineError::Sender(SenderAccountError::InvalidLimits(_))),
        "{e:?}"
    );
    // Nothing was spent: the same link connects with sane limits.
    f.engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new("li-9"),
            settings(Tier::Free),
        )
        .await
        .expect("the token still works");
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_commands_are_refused_or_change_nothing() {
    let f = Fixture::new().await;
    let ws = &f.ws;
    let e = f
        .refused(
            "enroll twice",
            f.engine
                .enroll(ws, &f.campaign, f.spec("lead-1"), EnrollOptions::default()),
        )
        .await;
    assert_eq!(e, EngineError::AlreadyInSequence("lead-1".into()));
    let e = f
        .refused(
            "enroll into another campaign while active",
            f.engine.enroll(
                ws,
                &f.campaign,
                f.spec("lead-1"),
                EnrollOptions { force: true },
            ),
        )
        .await;
    assert_eq!(e, EngineError::AlreadyInSequence("lead-1".into()));
    // A batch with a repeat or one refused lead enrolls nobody.
    let e = f
        .refused(
            "the same lead twice in a batch",
            f.engine.enroll_many(
                ws,
                &f.campaign,
                vec![f.spec("lead-5"), f.spec("lead-6"), f.spec("lead-5")],
                EnrollOptions::default(),
            ),
        )
        .await;
    assert_eq!(e, EngineError::AlreadyInSequence("lead-5".into()));
    let e = f
        .refused(
            "a batch with an enrolled lead",
            f.engine.enroll_many(
                ws,
                &f.campaign,
                vec![f.spec("lead-7"), f.spec("lead-1")],
                EnrollOptions::default(),
            ),
        )
        .await;
    assert_eq!(e, EngineError::AlreadyInSequence("lead-1".into()));

    // A spent token, an unknown one, an expired one.
    let link = f
        .engine
        .start_connection(ws, &OwnerId::new("owner"), None)
        .await
        .expect("link");
    f.engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new("li-7"),
            settings(Tier::Premium),
        )
        .await
        .expect("first use");
    let e = f
        .refused(
            "spent token",
            f.engine.complete_connection(
                &link.state,
                &ProviderAccountId::new("li-8"),
                settings(Tier::Premium),
            ),
        )
        .await;
    assert_eq!(e, EngineError::Workspace(WorkspaceError::StateUsed));
    let e = f
        .refused(
            "unknown token",
            f.engine.complete_connection(
                "not-a-token",
                &ProviderAccountId::new("li-8"),
                settings(Tier::Premium),
            ),
        )
        .await;
    assert_eq!(e, EngineError::Workspace(WorkspaceError::UnknownState));
    let late = f
        .engine
        .start_connection(ws, &OwnerId::new("owner"), None)
        .await
        .expect("link");
    f.clock.advance(Duration::minutes(31));
    let e = f
        .refused(
            "expired token",
            f.engine.complete_connection(
                &late.state,
                &ProviderAccountId::new("li-8"),
                settings(Tier::Premium),
            ),
        )
        .await;
    assert_eq!(e, EngineError::Workspace(WorkspaceError::StateExpired));

    let e = f
        .refused(
            "campaign twice",
            f.create(ws, &f.campaign, vec![f.sender.clone()]),
        )
        .await;
    assert_eq!(e, EngineError::Campaign(CampaignError::AlreadyExists));
    let e = f
        .refused(
            "a sender twice in a campaign",
            f.create(
                ws,
                &CampaignId::new("c-dup"),
                vec![f.sender.clone(), f.sender.clone()],
            ),
        )
        .await;
    assert_eq!(
        e,
        EngineError::Campaign(CampaignError::DuplicateSender(f.sender.clone()))
    );
    let e = f
        .refused(
            "campaign without senders",
            f.create(ws, &CampaignId::new("c-none"), vec![]),
        )
        .await;
    assert_eq!(e, EngineError::Campaign(CampaignError::NoSenders));
    let e = f
        .refused(
            "mailbox twice",
            f.engine
                .register_mailbox(ws, &MailboxId::new("mb"), "other@acme.io"),
        )
        .await;
    assert_eq!(
        e,
        EngineError::Workspace(WorkspaceError::MailboxExists(MailboxId::new("mb")))
    );

    let e = f
        .refused(
            "resume a running sender",
            f.engine.resume_sender(ws, &f.sender),
        )
        .await;
    assert_eq!(e, EngineError::Sender(SenderAccountError::NotPaused));
    f.engine.pause_sender(ws, &f.sender).await.expect("pause");
    f.no_change("pause twice", f.engine.pause_sender(ws, &f.sender))
        .await
        .ok();
    // The same answer delivered twice is recorded once.
    f.engine
        .ingest(ws, reply("lead-1", "msg-1", f.clock.now()))
        .await
        .expect("first delivery");
    let again = f
        .no_change(
            "the same answer again",
            f.engine.ingest(ws, reply("lead-1", "msg-1", f.clock.now())),
        )
        .await;
    assert_eq!(again, Ok(plera_actors::IngestOutcome::Duplicate));
    f.no_change(
        "stop a stopped lead",
        f.engine.stop_lead(ws, &f.lead, StopReason::Manual),
    )
    .await
    .ok();
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_that_is_not_needed_changes_nothing() {
    let f = Fixture::new().await;
    let reconnect = f
        .engine
        .start_connection(&f.ws, &OwnerId::new("owner"), Some(&f.sender))
        .await
        .expect("reconnect link");
    let e = f
        .refused(
            "reconnect a live session",
            f.engine.complete_connection(
                &reconnect.state,
                &ProviderAccountId::new("li-1"),
                settings(Tier::Premium),
            ),
        )
        .await;
    assert_eq!(
        e,
        EngineError::Sender(SenderAccountError::ReconnectNotNeeded)
    );
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_ids_are_refused() {
    let f = Fixture::new().await;
    let (ws, empty) = (&f.ws, WorkspaceId::new(""));
    let e = f
        .refused(
            "empty workspace",
            f.engine
                .start_connection(&empty, &OwnerId::new("owner"), None),
        )
        .await;
    assert!(matches!(e, EngineError::InvalidInput(_)), "{e:?}");
    let e = f
        .refused(
            "empty owner",
            f.engine.start_connection(ws, &OwnerId::new(""), None),
        )
        .await;
    assert!(matches!(e, EngineError::InvalidInput(_)), "{e:?}");
    let e = f
        .refused(
            "empty sender",
            f.engine.pause_sender(ws, &AccountId::new("")),
        )
        .await;
    assert!(not_found(&e, "sender", ""), "{e:?}");
    let e = f
        .refused(
            "empty campaign",
            f.engine.enroll(
                ws,
                &CampaignId::new(""),
                f.spec("lead-4"),
                EnrollOptions::default(),
            ),
        )
        .await;
    assert!(not_found(&e, "campaign", ""), "{e:?}");
    let e = f
        .refused(
            "empty lead to stop",
            f.engine.stop_lead(ws, &LeadId::new(""), StopReason::Manual),
        )
        .await;
    assert!(not_found(&e, "lead", ""), "{e:?}");
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_ids_in_payloads_are_refused() {
    let f = Fixture::new().await;
    let ws = &f.ws;
    let link = f
        .engine
        .start_connection(ws, &OwnerId::new("owner"), None)
        .await
        .expect("link");
    let mut accepted = Vec::new();
    let mut check =
        |what: &str, before: usize, after: usize, result: Result<String, EngineError>| match result
        {
            Err(EngineError::InvalidInput(_)) if before == after => {}
            other => accepted.push(format!("{what}: {other:?}, {} new events", after - before)),
        };
    let n = f.events().await.len();
    let r = f
        .engine
        .enroll(ws, &f.campaign, f.spec(""), EnrollOptions::default())
        .await;
    check(
        "enroll an empty lead id",
        n,
        f.events().await.len(),
        r.map(|v| format!("{v:?}")),
    );
    let n = f.events().await.len();
    let r = f
        .create(ws, &CampaignId::new(""), vec![f.sender.clone()])
        .await;
    check(
        "campaign with an empty id",
        n,
        f.events().await.len(),
        r.map(|v| format!("{v:?}")),
    );
    let n = f.events().await.len();
    let r = f
        .engine
        .register_mailbox(ws, &MailboxId::new(""), "x@acme.io")
        .await;
    check(
        "mailbox with an empty id",
        n,
        f.events().await.len(),
        r.map(|v| format!("{v:?}")),
    );
    let n = f.events().await.len();
    let r = f
        .engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new(""),
            settings(Tier::Premium),
        )
        .await;
    check(
        "an empty provider account",
        n,
        f.events().await.len(),
        r.map(|v| format!("{v:?}")),
    );
    let n = f.events().await.len();
    let r = f.engine.ingest(ws, reply("", "msg-9", monday())).await;
    check(
        "a message from an empty lead id",
        n,
        f.events().await.len(),
        r.map(|v| format!("{v:?}")),
    );
    let n = f.events().await.len();
    let r = f.engine.ingest(ws, reply("lead-1", "", monday())).await;
    check(
        "a message without a message id",
        n,
        f.events().await.len(),
        r.map(|v| format!("{v:?}")),
    );
    // A slash would make `ws/camp/a/b` the sequence of lead `a/b` in `camp` and of lead `b`
    // in a campaign `camp/a`.
    let n = f.events().await.len();
    let r = f
        .engine
        .enroll(ws, &f.campaign, f.spec("a/b"), EnrollOptions::default())
        .await;
    check(
        "a lead id with a slash",
        n,
        f.events().await.len(),
        r.map(|v| format!("{v:?}")),
    );
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_addresses_are_refused() {
    let f = Fixture::new().await;
    for address in ["", "   ", "not-an-address", "a@", "@acme.io"] {
        let e = f
            .refused(
                "bad address",
                f.engine
                    .register_mailbox(&f.ws, &MailboxId::new("mb-2"), address),
            )
            .await;
        assert!(
            matches!(e, EngineError::Workspace(WorkspaceError::InvalidAddress(_))),
            "{address:?}: {e:?}"
        );
    }
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_too_long_once_rendered_is_never_sent() {
    let f = Fixture::new().await;
    // A free account's notes stop at 200 characters; the lead's name makes this one 240.
    let link = f
        .engine
        .start_connection(&f.ws, &OwnerId::new("owner"), None)
        .await
        .expect("link");
    let free = f
        .engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new("li-free"),
            settings(Tier::Free),
        )
        .await
        .expect("connect");
    f.world.add_account_in(
        free.clone(),
        ProviderAccountId::new("li-free"),
        Tier::Free,
        chrono_tz::Europe::London,
    );
    let note = format!("Hi {{{{first_name}}}}, {}", "a".repeat(100));
    let camp = CampaignId::new("notes");
    f.campaign_with(
        &f.ws,
        &camp,
        vec![free.clone()],
        play(vec![step(Action::Invite, Some(&note), None)]),
    )
    .await
    .expect("the fixed text fits");
    let mut spec = f.spec("lead-long");
    spec.profile = LeadProfile::new(&"N".repeat(135), "Lovelace", "Acme");
    f.engine
        .enroll(&f.ws, &camp, spec, EnrollOptions::default())
        .await
        .expect("enroll");
    f.clock.advance_to(monday() + Duration::hours(2));
    for _ in 0..5 {
        f.engine.tick().await.expect("tick");
        if let Some(next) = f.engine.next_due().await.expect("next") {
            f.clock.advance_to(next.min(monday() + Duration::days(2)));
        }
    }
    let sent_to_long: Vec<_> = f
        .world
        .ledger()
        .into_iter()
        .filter(|e| e.lead_id.as_str() == "lead-long")
        .collect();
    assert!(sent_to_long.is_empty(), "{sent_to_long:?}");
    let events = f.events().await;
    let stepped = events.iter().any(|e| {
        e.aggregate_id.ends_with("/lead-long")
            && matches!(e.event_type.as_str(), "StepSkipped" | "StepFailed")
    });
    assert!(stepped, "the invite step is passed over with a reason");
    f.finish().await;
}

/// One call of the API, with arguments drawn among valid, unknown, foreign and malformed ones.
#[derive(Clone, Debug)]
enum Op {
    Enroll {
        lead: usize,
        campaign: usize,
        ws: usize,
    },
    Stop {
        lead: usize,
        ws: usize,
    },
    Pause {
        sender: usize,
        ws: usize,
    },
    Resume {
        sender: usize,
        ws: usize,
    },
    Disconnect {
        sender: usize,
        ws: usize,
    },
    Limits {
        sender: usize,
        daily_invites: u32,
    },
    Reply {
        lead: usize,
        message: usize,
    },
    Accepted {
        lead: usize,
        sender: usize,
    },
    Status {
        sender: usize,
        expired: bool,
    },
    MarkRead {
        lead: usize,
        ws: usize,
    },
    Campaign {
        id: usize,
        sender: usize,
        ws: usize,
    },
    Mailbox {
        id: usize,
        valid: bool,
    },
    Connect {
        reuse: bool,
    },
    Run {
        minutes: i64,
    },
}

/// Leads: a few real ones, then an empty id and a stranger.
const LEADS: [&str; 6] = ["lead-1", "lead-2", "lead-3", "lead-4", "", "stranger"];
/// Workspaces: ours, the other one, an unknown one, an empty id.
const WORKSPACES: [&str; 4] = ["ws", "other", "nowhere", ""];

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    let lead = 0..LEADS.len();
    let ws = 0..WORKSPACES.len();
    prop_oneof![
        3 => (lead.clone(), 0..3usize, ws.clone())
            .prop_map(|(lead, campaign, ws)| Op::Enroll { lead, campaign, ws }),
        1 => (lead.clone(), ws.clone()).prop_map(|(lead, ws)| Op::Stop { lead, ws }),
        1 => (0..3usize, ws.clone()).prop_map(|(sender, ws)| Op::Pause { sender, ws }),
        1 => (0..3usize, ws.clone()).prop_map(|(sender, ws)| Op::Resume { sender, ws }),
        1 => (0..3usize, ws.clone()).prop_map(|(sender, ws)| Op::Disconnect { sender, ws }),
        1 => (0..3usize, prop_oneof![0..100u32, Just(u32::MAX), 1_000..2_000u32])
            .prop_map(|(sender, daily_invites)| Op::Limits { sender, daily_invites }),
        2 => (lead.clone(), 0..4usize).prop_map(|(lead, message)| Op::Reply { lead, message }),
        1 => (lead.clone(), 0..3usize).prop_map(|(lead, sender)| Op::Accepted { lead, sender }),
        1 => (0..3usize, any::<bool>()).prop_map(|(sender, expired)| Op::Status { sender, expired }),
        1 => (lead, ws.clone()).prop_map(|(lead, ws)| Op::MarkRead { lead, ws }),
        1 => (0..4usize, 0..3usize, ws).prop_map(|(id, sender, ws)| Op::Campaign { id, sender, ws }),
        1 => (0..3usize, any::<bool>()).prop_map(|(id, valid)| Op::Mailbox { id, valid }),
        1 => any::<bool>().prop_map(|reuse| Op::Connect { reuse }),
        3 => (0..900i64).prop_map(|minutes| Op::Run { minutes }),
    ]
}

impl Fixture {
    fn sender_of(&self, i: usize) -> AccountId {
        match i {
            0 => self.sender.clone(),
            1 => self.other_sender.clone(),
            _ => AccountId::new("acc-nobody"),
        }
    }

    /// Applies `op`; the error of a refused call, checked to have left the log as it was.
    async fn apply(&self, op: &Op, token: &mut Option<String>) -> Option<EngineError> {
        let before = self.events().await.len();
        let e = &self.engine;
        let w = |i: usize| WorkspaceId::new(WORKSPACES[i]);
        let lead = |i: usize| LeadId::new(LEADS[i]);
        let result: Result<(), EngineError> = match op.clone() {
            Op::Enroll {
                lead: l,
                campaign,
                ws,
            } => {
                let campaign = [
                    self.campaign.clone(),
                    self.other_campaign.clone(),
                    CampaignId::new("nowhere"),
                ][campaign]
                    .clone();
                e.enroll(
                    &w(ws),
                    &campaign,
                    self.spec(LEADS[l]),
                    EnrollOptions::default(),
                )
                .await
                .map(drop)
            }
            Op::Stop { lead: l, ws } => e.stop_lead(&w(ws), &lead(l), StopReason::Manual).await,
            Op::Pause { sender, ws } => e.pause_sender(&w(ws), &self.sender_of(sender)).await,
            Op::Resume { sender, ws } => e.resume_sender(&w(ws), &self.sender_of(sender)).await,
            Op::Disconnect { sender, ws } => {
                e.disconnect_sender(&w(ws), &self.sender_of(sender)).await
            }
            Op::Limits {
                sender,
                daily_invites,
            } => {
                let limits = Limits {
                    daily_invites,
                    ..Tier::Premium.default_limits()
                };
                e.change_limits(&self.ws, &self.sender_of(sender), limits)
                    .await
            }
            Op::Reply { lead: l, message } => e
                .ingest(
                    &self.ws,
                    reply(LEADS[l], &format!("msg-{message}"), self.clock.now()),
                )
                .await
                .map(drop),
            Op::Accepted { lead: l, sender } => e
                .ingest(
                    &self.ws,
                    InboundEvent::InviteAccepted {
                        account: self.sender_of(sender),
                        lead: lead(l),
                        at: self.clock.now(),
                    },
                )
                .await
                .map(drop),
            Op::Status { sender, expired } => e
                .ingest(
                    &self.ws,
                    InboundEvent::AccountStatus {
                        account: self.sender_of(sender),
                        status: if expired {
                            AccountStatusSignal::CredentialsExpired
                        } else {
                            AccountStatusSignal::Restricted
                        },
                        at: self.clock.now(),
                    },
                )
                .await
                .map(drop),
            Op::MarkRead { lead: l, ws } => e.mark_read(&w(ws), &lead(l), None).await,
            Op::Campaign { id, sender, ws } => self
                .create(
                    &w(ws),
                    &CampaignId::new(format!("c-{id}")),
                    vec![self.sender_of(sender)],
                )
                .await
                .map(drop),
            Op::Mailbox { id, valid } => {
                let address = if valid {
                    "team@acme.io"
                } else {
                    "team-at-acme"
                };
                e.register_mailbox(&self.ws, &MailboxId::new(format!("mb-{id}")), address)
                    .await
            }
            Op::Connect { reuse } => {
                let state = match (reuse, token.clone()) {
                    (true, Some(state)) => state,
                    _ => {
                        let link = e
                            .start_connection(&self.ws, &OwnerId::new("owner"), None)
                            .await
                            .expect("a link for a known workspace");
                        *token = Some(link.state.clone());
                        link.state
                    }
                };
                let before_completion = self.events().await.len();
                let result = e
                    .complete_connection(
                        &state,
                        &ProviderAccountId::new("li-x"),
                        settings(Tier::Premium),
                    )
                    .await
                    .map(drop);
                if result.is_err() {
                    assert_eq!(self.events().await.len(), before_completion);
                }
                // The link itself was recorded; only the completion is judged.
                return result.err();
            }
            Op::Run { minutes } => {
                self.clock.advance(Duration::minutes(minutes));
                e.tick().await.map(drop)
            }
        };
        let error = result.err()?;
        assert_eq!(
            self.events().await.len(),
            before,
            "{op:?} refused ({error}) but the log grew"
        );
        Some(error)
    }
}

/// Whether an error is one a caller can act on, as opposed to an engine failing inside.
fn is_typed_refusal(e: &EngineError) -> bool {
    !matches!(
        e,
        EngineError::SystemDown
            | EngineError::Crashed
            | EngineError::Store(_)
            | EngineError::Directory(_)
    )
}

/// No step after a stop, one invite per sequence, each message recorded once, gap-free
/// positions, and the audit of invariants 1–6 against the provider's ledger.
async fn invariant_violations(f: &Fixture) -> Vec<String> {
    let events = f.events().await;
    let ledger = f.world.ledger();
    let mut out: Vec<String> = audit_log(f.log.as_ref(), Some(&ledger))
        .await
        .expect("audit")
        .violations
        .iter()
        .map(ToString::to_string)
        .collect();
    out.extend(plera_tests::log_violations(&events));
    out.extend(plera_tests::gap_violations(&events));
    out.extend(plera_tests::sent_vs_ledger(&events, &ledger));
    let mut seen = std::collections::BTreeSet::new();
    for e in &events {
        if matches!(
            e.event_type.as_str(),
            "ReplyReceived" | "OutOfOfficeReceived"
        ) {
            let id = e.payload.get("message_id").map(ToString::to_string);
            if !seen.insert((e.aggregate_id.clone(), id.clone())) {
                out.push(format!("{id:?} recorded twice in {}", e.aggregate_id));
            }
        }
    }
    out
}

use plera_adapters::audit::audit_log;

proptest::proptest! {
    // PROPTEST_CASES=500 for a longer search.
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24),
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn random_calls_never_panic_refuse_with_types_and_keep_the_invariants(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let f = Fixture::new().await;
            let mut token = None;
            for op in &ops {
                if let Some(error) = f.apply(op, &mut token).await {
                    assert!(is_typed_refusal(&error), "{op:?}: {error:?}");
                }
            }
            // Let whatever is due run to its end, then judge the log.
            for _ in 0..50 {
                match f.engine.next_due().await.expect("next due") {
                    Some(t) if t < monday() + Duration::days(30) => {
                        f.clock.advance_to(t);
                        f.engine.tick().await.expect("tick");
                    }
                    _ => break,
                }
            }
            let violations = invariant_violations(&f).await;
            assert!(violations.is_empty(), "after {ops:?}:\n{}", violations.join("\n"));
            f.finish().await;
        });
    }
}
