//! Synthetic but valid event streams, produced by the aggregates' own `decide` (so every event is
//! one the domain would write) and appended in large batches: fast to generate, realistic to fold.

use chrono::{DateTime, Duration, Utc};
use plera_actors::store::{EventLog, NewEvent, Tracked};
use plera_domain::campaign::{Campaign, CampaignCommand};
use plera_domain::ids::{
    AccountId, CampaignId, LeadId, MailboxId, OwnerId, ProviderAccountId, ProviderMessageId,
    SequenceId, WorkspaceId,
};
use plera_domain::lead::{LeadSequence, LeadSequenceCommand, SkipReason};
use plera_domain::play::Play;
use plera_domain::seed::SeededRng;
use plera_domain::sender::{SenderAccount, SenderAccountCommand};
use plera_domain::values::{Action, Channel, ConnectionDegree, Limits, Tier, WorkingHours};
use plera_domain::workspace::{Workspace, WorkspaceCommand};

/// Runs `command` on `tracked` and returns its records, moving `tracked` on. A refused command is
/// a bug of the generator, reported as such.
pub async fn step<A>(tracked: &mut Tracked<A>, id: &str, command: A::Command) -> Vec<NewEvent>
where
    A: cqrs_es::Aggregate<Services = ()> + Clone,
    A::Error: std::fmt::Debug,
{
    match tracked.decide(id, command).await {
        Ok(d) => {
            *tracked = d.next;
            d.records
        }
        Err(e) => panic!("synthetic stream of {id} refused by its aggregate: {e:?}"),
    }
}

/// `pairs` retryable failures of the lead's next step (a `StepStarted` of a LinkedIn message and a
/// `StepFailed { retryable: true }`, what an account that keeps hitting rate limits leaves behind),
/// one second apart from `at`: a long history that leaves the sequence ready to run its step.
pub async fn retry_history(
    tracked: &mut Tracked<LeadSequence>,
    id: &SequenceId,
    account: &AccountId,
    pairs: usize,
    at: DateTime<Utc>,
) -> Vec<NewEvent> {
    let mut out = Vec::with_capacity(pairs * 2);
    for i in 0..pairs {
        let t = at + Duration::seconds(i as i64);
        let step_no = tracked.state.next_step_index();
        let start = LeadSequenceCommand::StartStep {
            step: step_no,
            action: Action::Message,
            account_id: Some(account.clone()),
            mailbox_id: None,
            at: t,
        };
        out.extend(step(tracked, id.as_str(), start).await);
        let fail = LeadSequenceCommand::RecordStepFailed {
            step: step_no,
            retryable: true,
            reason: "rate_limited".into(),
            at: t,
        };
        out.extend(step(tracked, id.as_str(), fail).await);
    }
    out
}

/// The `SequenceStarted` of a first-degree lead of `account` (no mailbox).
pub fn start_command(
    workspace: &WorkspaceId,
    campaign: &CampaignId,
    lead: &LeadId,
    account: &AccountId,
    at: DateTime<Utc>,
) -> LeadSequenceCommand {
    LeadSequenceCommand::Start {
        workspace_id: workspace.clone(),
        lead_id: lead.clone(),
        campaign_id: campaign.clone(),
        play: "bench".into(),
        account_id: account.clone(),
        mailbox_id: None,
        connection_degree: ConnectionDegree::First,
        email_known: false,
        at,
    }
}

/// The shape of a synthetic log for replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogShape {
    /// Events to generate, at least (the last lead's stream is completed).
    pub events: usize,
    /// Senders.
    pub senders: usize,
    /// Campaigns (each uses `senders / campaigns` senders).
    pub campaigns: usize,
    /// Seed of the leads' fates.
    pub seed: u64,
}

/// Appends a synthetic log of at least `shape.events` events to `log`: one workspace with a
/// mailbox, the senders, the campaigns (LinkedIn-first), and leads running the play as the
/// sandbox's rates would have them (27 % accept, then a message; the others an email after a
/// week; a follow-up email; 8 % reply, which stops them; the rest complete). Leads are generated
/// in cohorts whose events are interleaved by time, and appended `batch` events at a time.
/// Returns the number of events appended.
pub async fn append_log(
    log: &dyn EventLog,
    shape: LogShape,
    batch: usize,
    start: DateTime<Utc>,
) -> Result<usize, String> {
    let ws = WorkspaceId::new("ws");
    let mailbox = MailboxId::new("mb");
    let mut head = Vec::new();
    let mut workspace = Tracked::<Workspace>::default();
    head.extend(
        step(
            &mut workspace,
            ws.as_str(),
            WorkspaceCommand::RegisterMailbox {
                workspace_id: ws.clone(),
                mailbox_id: mailbox.clone(),
                address: "sales@acme.io".into(),
                at: start,
            },
        )
        .await,
    );
    let accounts: Vec<AccountId> = (0..shape.senders)
        .map(|i| AccountId::new(format!("acc-{i}")))
        .collect();
    for (i, account) in accounts.iter().enumerate() {
        let mut sender = Tracked::<SenderAccount>::default();
        let connect = SenderAccountCommand::Connect {
            workspace_id: ws.clone(),
            account_id: account.clone(),
            provider_account_id: ProviderAccountId::new(format!("li-{i}")),
            owner: OwnerId::new("owner"),
            tier: Tier::Premium,
            limits: Limits {
                daily_invites: 100,
                daily_messages: 150,
                weekly_invites: 200,
            },
            timezone: chrono_tz::Europe::London,
            working_hours: WorkingHours::parse("08:00", "18:00").map_err(|e| e.to_string())?,
            warm_up: false,
            at: start,
        };
        head.extend(step(&mut sender, account.as_str(), connect).await);
    }
    let campaigns: Vec<CampaignId> = (0..shape.campaigns.max(1))
        .map(|i| CampaignId::new(format!("camp-{i}")))
        .collect();
    let per = (shape.senders / campaigns.len()).max(1);
    for (i, c) in campaigns.iter().enumerate() {
        let senders: Vec<AccountId> = accounts.iter().skip(i * per).take(per).cloned().collect();
        let mut campaign = Tracked::<Campaign>::default();
        let create = CampaignCommand::Create {
            workspace_id: ws.clone(),
            campaign_id: c.clone(),
            name: c.to_string(),
            play: Play::linkedin_first(),
            senders,
            mailbox_id: Some(mailbox.clone()),
            at: start,
        };
        head.extend(step(&mut campaign, c.as_str(), create).await);
    }
    let mut appended = head.len();
    log.append(head).await.map_err(|e| e.to_string())?;

    // About 9.4 events per lead: cohorts of up to 5,000 leads, smaller near the end.
    let mut lead_no = 0usize;
    let mut cohort_no = 0i64;
    while appended < shape.events {
        let base = start + Duration::hours(6 * cohort_no);
        let mut timed: Vec<(DateTime<Utc>, usize, NewEvent)> = Vec::new();
        let cohort = ((shape.events - appended) / 9).clamp(1, 5_000);
        for k in 0..cohort {
            let n = lead_no + k;
            let campaign = &campaigns[n % campaigns.len()];
            let c_index = n % campaigns.len();
            let account = &accounts[(c_index * per + (n / campaigns.len()) % per) % accounts.len()];
            let t0 = base + Duration::seconds((k as i64 * 37) % (6 * 3600));
            for (at, e) in lead_stream(&ws, campaign, account, &mailbox, n, t0, shape.seed).await {
                timed.push((at, k, e));
            }
        }
        lead_no += cohort;
        cohort_no += 1;
        // Stable: a lead's events keep their order among equal times.
        timed.sort_by_key(|(at, _, _)| *at);
        let events: Vec<NewEvent> = timed.into_iter().map(|(_, _, e)| e).collect();
        for chunk in events.chunks(batch.max(1)) {
            log.append(chunk.to_vec())
                .await
                .map_err(|e| e.to_string())?;
        }
        appended += events.len();
    }
    Ok(appended)
}

/// One lead's run through LinkedIn-first, each event with its time.
async fn lead_stream(
    ws: &WorkspaceId,
    campaign: &CampaignId,
    account: &AccountId,
    mailbox: &MailboxId,
    n: usize,
    t0: DateTime<Utc>,
    seed: u64,
) -> Vec<(DateTime<Utc>, NewEvent)> {
    let lead = LeadId::new(format!("lead-{n}"));
    let id = SequenceId::of(ws, campaign, &lead);
    let mut rng = SeededRng::new(seed, &["lead", &n.to_string()]);
    let mut t = t0;
    let mut s = Tracked::<LeadSequence>::default();
    let mut out = Vec::new();
    macro_rules! run {
        ($cmd:expr) => {{
            for e in step(&mut s, id.as_str(), $cmd).await {
                out.push((t, e));
            }
        }};
    }
    run!(LeadSequenceCommand::Start {
        workspace_id: ws.clone(),
        lead_id: lead.clone(),
        campaign_id: campaign.clone(),
        play: "linkedin-first".into(),
        account_id: account.clone(),
        mailbox_id: Some(mailbox.clone()),
        connection_degree: ConnectionDegree::Second,
        email_known: true,
        at: t,
    });
    t += Duration::minutes(rng.range(1, 600) as i64);
    let started = |step_no: u32, action: Action, at| LeadSequenceCommand::StartStep {
        step: step_no,
        action,
        account_id: action.is_linkedin().then(|| account.clone()),
        mailbox_id: (!action.is_linkedin()).then(|| mailbox.clone()),
        at,
    };
    run!(started(0, Action::Invite, t));
    run!(LeadSequenceCommand::RecordInviteSent {
        step: 0,
        account_id: account.clone(),
        note: Some(format!("Hi Ada{n}, I help teams like Acme {n} run outreach that respects LinkedIn's limits. Would be glad to connect. - Alice")),
        at: t,
    });
    let accepted = rng.chance(0.27);
    if accepted {
        t += Duration::minutes(rng.range(1, 3 * 24 * 60) as i64);
        run!(LeadSequenceCommand::RecordInviteAccepted { at: t });
        run!(LeadSequenceCommand::SkipStep {
            step: 1,
            reason: SkipReason::ConditionNotMet,
            at: t
        });
        t += Duration::days(1);
        run!(started(2, Action::Message, t));
        run!(LeadSequenceCommand::RecordMessageSent {
            step: 2,
            account_id: account.clone(),
            text: format!("Thanks for connecting, Ada{n}! How does Acme {n} run outbound today? Happy to share what has worked for similar teams."),
            at: t,
        });
    } else {
        t += Duration::days(7);
        run!(started(1, Action::Email, t));
        run!(LeadSequenceCommand::RecordEmailSent {
            step: 1,
            mailbox: mailbox.clone(),
            subject: format!("Outbound at Acme {n}"),
            body: format!("Hi Ada{n},\n\nI help teams like Acme {n} run outbound across LinkedIn and email without tripping LinkedIn's limits.\n\nBest,\nAlice"),
            at: t,
        });
        run!(LeadSequenceCommand::SkipStep {
            step: 2,
            reason: SkipReason::ConditionNotMet,
            at: t
        });
    }
    if rng.chance(0.08) {
        t += Duration::hours(rng.range(1, 48) as i64);
        let channel = if accepted {
            Channel::Linkedin
        } else {
            Channel::Email
        };
        run!(LeadSequenceCommand::RecordReply {
            channel,
            message_id: ProviderMessageId::new(format!("msg-{n}")),
            text: format!("Thanks Alice, happy to talk next week. - Ada{n}"),
            at: t,
        });
        return out;
    }
    t += Duration::days(4);
    run!(started(3, Action::Email, t));
    run!(LeadSequenceCommand::RecordEmailSent {
        step: 3,
        mailbox: mailbox.clone(),
        subject: format!("Following up, Ada{n}"),
        body: format!(
            "Hi Ada{n},\n\nA short follow-up in case my earlier note got buried.\n\nBest,\nAlice"
        ),
        at: t,
    });
    run!(LeadSequenceCommand::Complete { at: t });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use plera_actors::store::MemoryEventLog;

    #[tokio::test]
    async fn the_synthetic_log_is_what_the_aggregates_accept_and_reaches_its_size() {
        let log = MemoryEventLog::new();
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let shape = LogShape {
            events: 3_000,
            senders: 4,
            campaigns: 2,
            seed: 1,
        };
        let n = append_log(&log, shape, 700, start).await.unwrap();
        let stored = log.read_after(0, usize::MAX).await.unwrap();
        assert_eq!(stored.len(), n);
        assert!(n >= 3_000);
        // Every lead stream folds back into a finished sequence.
        let id = "ws/camp-1/lead-1";
        let events: Vec<plera_domain::lead::LeadSequenceEvent> = stored
            .iter()
            .filter(|e| e.aggregate_id == id)
            .map(|e| plera_actors::store::decode(e).unwrap())
            .collect();
        assert!(events.len() >= 8, "{events:?}");
        assert!(!LeadSequence::from_events(&events).is_active());
    }

    #[tokio::test]
    async fn a_retry_history_leaves_the_step_ready_to_run() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let (ws, c, lead, acc) = (
            WorkspaceId::new("ws"),
            CampaignId::new("c"),
            LeadId::new("l"),
            AccountId::new("a"),
        );
        let id = SequenceId::of(&ws, &c, &lead);
        let mut t = Tracked::<LeadSequence>::default();
        let first = step(
            &mut t,
            id.as_str(),
            start_command(&ws, &c, &lead, &acc, start),
        )
        .await;
        let rest = retry_history(&mut t, &id, &acc, 50, start).await;
        assert_eq!(first.len() + rest.len(), 101);
        assert_eq!(t.version, 101);
        assert_eq!(t.state.next_step_index(), 0);
        assert!(t.state.pending().is_none());
        assert_eq!(t.state.retry().map(|r| r.attempts), Some(50));
    }
}
