//! Benchmark 5, ingest: inbound replies per second through `Engine::ingest`, each delivered twice
//! (the second delivery must come back `Duplicate`), from concurrent callers as a webhook endpoint
//! would make them, or in pages through `Engine::ingest_all` as the polling fallback feeds a
//! listing; then the views' catch-up that puts the replies in the unified inbox.

use plera_actors::IngestOutcome;
use plera_adapters::views::Views;
use plera_domain::ids::ProviderMessageId;
use plera_domain::ports::{Clock, InboundEvent};
use plera_domain::values::Channel;
use plera_projections::queries::{InboxFilter, ViewQueries};
use std::time::Instant;

use crate::db::{BenchDb, Kind};
use crate::machine;
use crate::report::Figure;
use crate::rig::{open, Rig, RigSize};

/// Measured rates of one run.
struct IngestRun {
    replies_per_s: f64,
    deliveries_per_s: f64,
    with_inbox_per_s: f64,
}

async fn once(
    kind: Kind,
    pg_base: &str,
    senders: usize,
    leads: usize,
    callers: usize,
    page: usize,
) -> Result<IngestRun, String> {
    let db = BenchDb::new(kind, pg_base).await?;
    let setup = open(db.url()).await?;
    let store = open(db.url()).await?;
    let size = RigSize {
        senders,
        leads_per_sender: leads,
        history: 1,
        filler: 0,
    };
    let rig = Rig::new(
        (setup.event_log(), setup.lead_directory()),
        (store.event_log(), store.lead_directory()),
        size,
    )
    .await?;
    let views = Views::new(&store);
    views.catch_up_all().await.map_err(|e| e.to_string())?;
    let now = rig.clock.now();
    let mut deliveries: Vec<InboundEvent> = Vec::new();
    for (i, (_, lead, account)) in rig.sequences.iter().enumerate() {
        deliveries.push(InboundEvent::MessageReceived {
            account: Some(account.clone()),
            lead: lead.clone(),
            channel: Channel::Linkedin,
            message_id: ProviderMessageId::new(format!("reply-{i}")),
            text: format!("Thanks, happy to talk next week. Reply {i}."),
            at: now,
        });
    }
    let unique = deliveries.len();
    // Each caller delivers its share twice: first the whole share, then the same again.
    let shares: Vec<Vec<InboundEvent>> = (0..callers)
        .map(|c| {
            deliveries
                .iter()
                .skip(c)
                .step_by(callers)
                .cloned()
                .collect()
        })
        .collect();
    let began = Instant::now();
    let mut handles = Vec::new();
    for share in shares {
        let engine = rig.engine.clone();
        let ws = rig.workspace.clone();
        handles.push(tokio::spawn(async move {
            let (mut recorded, mut duplicate) = (0usize, 0usize);
            for round in 0..2 {
                let mut answers = Vec::with_capacity(share.len());
                if page == 0 {
                    for event in &share {
                        answers.push(engine.ingest(&ws, event.clone()).await);
                    }
                } else {
                    for events in share.chunks(page) {
                        answers.extend(engine.ingest_all(&ws, events.to_vec()).await);
                    }
                }
                for answer in answers {
                    match answer {
                        Ok(IngestOutcome::Recorded) if round == 0 => recorded += 1,
                        Ok(IngestOutcome::Duplicate) if round == 1 => duplicate += 1,
                        Ok(other) => return Err(format!("round {round}: {other:?}")),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            }
            Ok((recorded, duplicate))
        }));
    }
    let (mut recorded, mut duplicate) = (0, 0);
    for h in handles {
        let (r, d) = h.await.map_err(|e| e.to_string())??;
        recorded += r;
        duplicate += d;
    }
    let ingested = began.elapsed();
    if recorded != unique || duplicate != unique {
        return Err(format!(
            "{recorded} recorded, {duplicate} duplicates of {unique}"
        ));
    }
    let t = Instant::now();
    views.catch_up_all().await.map_err(|e| e.to_string())?;
    let caught_up = t.elapsed();
    let threads = views
        .inbox(&InboxFilter::default())
        .await
        .map_err(|e| e.to_string())?;
    let replied = threads
        .iter()
        .filter(|t| {
            t.messages
                .iter()
                .any(|m| m.direction == plera_projections::inbox::Direction::Inbound)
        })
        .count();
    if replied != unique {
        return Err(format!(
            "the inbox shows {replied} answered threads of {unique}"
        ));
    }
    rig.stop().await;
    store.close().await;
    setup.close().await;
    db.drop_now().await?;
    Ok(IngestRun {
        replies_per_s: unique as f64 / ingested.as_secs_f64(),
        deliveries_per_s: (2 * unique) as f64 / ingested.as_secs_f64(),
        with_inbox_per_s: unique as f64 / (ingested + caught_up).as_secs_f64(),
    })
}

/// Runs the ingest bench `repeats` times on `kind`.
pub async fn bench(
    kind: Kind,
    pg_base: &str,
    callers: usize,
    page: usize,
    replies: usize,
    repeats: usize,
) -> Result<Vec<Figure>, String> {
    let senders = 20;
    let leads = replies.div_ceil(senders);
    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for r in 0..repeats {
        eprintln!("ingest on {}: round {} of {repeats}", kind.name(), r + 1);
        let run = once(kind, pg_base, senders, leads, callers, page).await?;
        a.push(run.replies_per_s);
        b.push(run.deliveries_per_s);
        c.push(run.with_inbox_per_s);
    }
    let load = machine::load_1m();
    let n = senders * leads;
    let how = match page {
        0 => format!("Engine::ingest, {callers} callers"),
        page => format!("Engine::ingest_all in pages of {page}, {callers} callers"),
    };
    // One figure name per way of delivering: a call is an event when there are no pages.
    let (delivered, unit) = match page {
        0 => (
            format!("ingest calls (half duplicates), {callers} callers"),
            "calls/s",
        ),
        _ => (
            format!("inbound events (half duplicates) through {how}"),
            "events/s",
        ),
    };
    Ok(vec![
        Figure::from_runs(
            "ingest",
            kind.name(),
            format!("unique replies through {how}"),
            "replies/s",
            a,
            load,
        )
        .note(format!(
            "{n} replies, each delivered twice; time of both deliveries"
        )),
        Figure::from_runs("ingest", kind.name(), delivered, unit, b, load),
        Figure::from_runs(
            "ingest",
            kind.name(),
            "unique replies incl. the views' catch-up (inbox)",
            "replies/s",
            c,
            load,
        )
        .note("inbox checked: one answered thread per reply"),
    ])
}
