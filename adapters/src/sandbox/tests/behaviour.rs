//! The simulated leads over thousands of draws: rates and delays as configured.

use std::collections::{BTreeMap, BTreeSet};

use plera_domain::ports::{EmailGateway, LinkedInGateway};
use plera_domain::values::{Channel, Tier};

use super::*;

const LEADS: usize = 5_000;

/// Spreads `LEADS` leads over 10 uncapped accounts; returns (account, lead) pairs.
fn crowd(world: &SandboxWorld, first_degree: bool) -> Vec<(String, String)> {
    let accounts: Vec<String> = (0..10).map(|a| format!("acc-{a}")).collect();
    for a in &accounts {
        account(world, a, Tier::Premium);
    }
    (0..LEADS)
        .map(|i| {
            let (a, l) = (accounts[i % 10].clone(), format!("lead-{i:05}"));
            let connected = [a.as_str()];
            lead(world, &l, if first_degree { &connected } else { &[] });
            (a, l)
        })
        .collect()
}

fn share(count: usize, of: usize) -> f64 {
    count as f64 / of as f64
}

fn assert_near(label: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{label}: {got:.4} is not within {tolerance} of {want}"
    );
}

#[tokio::test]
async fn acceptance_and_replies_after_acceptance_follow_the_configured_rates() {
    let (world, _clock) = world(uncapped(quiet()));
    let pairs = crowd(&world, false);
    for (i, (a, l)) in pairs.iter().enumerate() {
        let note = (i % 2 == 0).then_some("Hi, I enjoyed your talk on pricing.");
        world
            .send_invite(invite(a, l, key(l, 0), note))
            .await
            .expect("invite");
    }
    let events = drain(&world);
    let accepted: BTreeSet<LeadId> = events
        .iter()
        .filter_map(|e| match e {
            InboundEvent::InviteAccepted { lead, .. } => Some(lead.clone()),
            _ => None,
        })
        .collect();
    let replied: BTreeSet<LeadId> = events
        .iter()
        .filter_map(|e| match e {
            InboundEvent::MessageReceived { lead, channel, .. } => {
                assert_eq!(*channel, Channel::Linkedin);
                Some(lead.clone())
            }
            _ => None,
        })
        .collect();
    assert!(
        replied.is_subset(&accepted),
        "only connections answer an invite"
    );
    assert_near("acceptance", share(accepted.len(), LEADS), 0.27, 0.02);

    let with_note = |l: &LeadId| l.as_str()[5..].parse::<usize>().is_ok_and(|i| i % 2 == 0);
    let (acc_note, acc_bare): (Vec<_>, Vec<_>) = accepted.iter().partition(|l| with_note(l));
    let replied_note = acc_note.iter().filter(|l| replied.contains(**l)).count();
    let replied_bare = acc_bare.iter().filter(|l| replied.contains(**l)).count();
    assert_near(
        "reply with a note",
        share(replied_note, acc_note.len()),
        0.09,
        0.035,
    );
    assert_near(
        "reply without",
        share(replied_bare, acc_bare.len()),
        0.05,
        0.025,
    );
}

#[tokio::test]
async fn direct_messages_and_emails_get_answers_at_their_rates_on_their_channel() {
    let (world, _clock) = world(uncapped(quiet()));
    let pairs = crowd(&world, true);
    for (a, l) in &pairs {
        world
            .send_message(message(a, l, key(l, 1)))
            .await
            .expect("message");
        world
            .send_email(email(&format!("{l}@example.com"), key(l, 2)))
            .await
            .expect("email");
    }
    let events = drain(&world);
    let (mut dm, mut mail, mut ooo, mut ooo_dated) = (0, 0, 0, 0);
    let mut ids = BTreeSet::new();
    for event in &events {
        let InboundEvent::MessageReceived {
            account,
            channel,
            message_id,
            text,
            at,
            ..
        } = event
        else {
            panic!("only replies expected, got {event:?}");
        };
        assert!(*at > start(), "answers come after the action");
        assert!(ids.insert(message_id.clone()), "duplicate id {message_id}");
        match channel {
            Channel::Linkedin => {
                assert!(account.is_some());
                dm += 1;
            }
            Channel::Email => {
                assert_eq!(*account, None);
                mail += 1;
            }
        }
        if is_out_of_office(text) {
            ooo += 1;
            if text.contains(", 20") {
                ooo_dated += 1;
            }
        }
    }
    assert_near("DM replies", share(dm, LEADS), 0.10, 0.015);
    assert_near("email replies", share(mail, LEADS), 0.06, 0.012);
    assert_near("out of office", share(ooo, dm + mail), 0.03, 0.02);
    assert!(
        ooo_dated > 0 && ooo_dated < ooo,
        "with and without a return date"
    );
}

#[tokio::test]
async fn acceptance_delays_follow_the_published_distribution() {
    let (world, _clock) = world(uncapped(SandboxConfig {
        acceptance_rate: 1.0,
        late_notification_share: 0.0,
        ..quiet()
    }));
    for (a, l) in crowd(&world, false) {
        world
            .send_invite(invite(&a, &l, key(&l, 0), None))
            .await
            .expect("invite");
    }
    let delays: Vec<Duration> = drain(&world)
        .into_iter()
        .filter_map(|e| match e {
            InboundEvent::InviteAccepted { at, .. } => Some(at - start()),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), LEADS);
    let within = |d: Duration| share(delays.iter().filter(|x| **x < d).count(), LEADS);
    assert_near("< 1 hour", within(Duration::hours(1)), 0.21, 0.02);
    assert_near("< 1 day", within(Duration::days(1)), 0.63, 0.02);
    assert_near("< 1 week", within(Duration::days(7)), 0.88, 0.02);
    assert_near("< 30 days", within(Duration::days(30)), 0.99, 0.01);
}

#[tokio::test]
async fn late_notifications_arrive_at_most_eight_hours_after_the_acceptance() {
    let base = uncapped(SandboxConfig {
        acceptance_rate: 1.0,
        ..quiet()
    });
    let (on_time, _c1) = world(SandboxConfig {
        late_notification_share: 0.0,
        ..base.clone()
    });
    let (late, _c2) = world(SandboxConfig {
        late_notification_share: 1.0,
        ..base
    });
    for w in [&on_time, &late] {
        for (a, l) in crowd(w, false).into_iter().take(500) {
            w.send_invite(invite(&a, &l, key(&l, 0), None))
                .await
                .expect("invite");
        }
    }
    let accepted_at = |events: Vec<InboundEvent>| -> BTreeMap<LeadId, DateTime<Utc>> {
        events
            .into_iter()
            .filter_map(|e| match e {
                InboundEvent::InviteAccepted { lead, at, .. } => Some((lead, at)),
                _ => None,
            })
            .collect()
    };
    let (truth, told) = (accepted_at(drain(&on_time)), accepted_at(drain(&late)));
    assert_eq!(truth.len(), 500);
    let lags: Vec<Duration> = truth.iter().map(|(lead, at)| told[lead] - *at).collect();
    assert!(lags
        .iter()
        .all(|lag| Duration::zero() <= *lag && *lag <= Duration::hours(8)));
    assert!(
        lags.iter().any(|lag| *lag > Duration::hours(6)),
        "some are hours late"
    );
}
