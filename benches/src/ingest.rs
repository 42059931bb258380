//! Benchmark 5, ingest: inbound replies per second through `Engine::ingest`, each delivered twice
//! (the second delivery must come back `Duplicate`), from concurrent callers as a webhook endpoint
//! would make them, or in pages through `Engine::ingest_all` as the polling fallback feeds a
//! listing; then the views' catch-up that puts the replies in the unified inbox. With
//! `nodes` > 0 (PostgreSQL), the callers deliver to that many clustered engines on one schema,
//! each on its own pool as separate processes would be, caller `c` to node `c % nodes`.

use plera_actors::{Engine, IngestOutcome, SequentialIds};
use plera_adapters::views::Views;
use plera_domain::ids::ProviderMessageId;
use plera_domain::ports::{Clock, InboundEvent};
use plera_domain::values::Channel;
use plera_projections::queries::{InboxFilter, ViewQueries};
use std::sync::Arc;
use std::time::Instant;

use crate::db::{BenchDb, Kind};
use crate::machine;
use crate::nodes::open_node;
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
    nodes: usize,
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
    // The engines the callers deliver to: the rig's, or clustered nodes started after the
    // set-up (each reads the log at start and again before each run it decides).
    let ids = Arc::new(SequentialIds::default());
    let mut clustered = Vec::with_capacity(nodes);
    for i in 0..nodes {
        clustered.push(open_node(db.url(), i, &rig, &ids, |log, dir| (log, dir)).await?);
    }
    let targets: Vec<Engine> = if clustered.is_empty() {
        vec![rig.engine.clone()]
    } else {
        clustered.iter().map(|(_, node)| node.clone()).collect()
    };
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
    for (c, share) in shares.into_iter().enumerate() {
        let engine: Engine = targets[c % targets.len()].clone();
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
    let (node_stores, node_engines): (Vec<_>, Vec<_>) = clustered.into_iter().unzip();
    for node in node_engines {
        node.shutdown().await;
    }
    for node_store in node_stores {
        node_store.close().await;
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
    nodes: usize,
    replies: usize,
    repeats: usize,
) -> Result<Vec<Figure>, String> {
    let senders = 20;
    let leads = replies.div_ceil(senders);
    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for r in 0..repeats {
        eprintln!("ingest on {}: round {} of {repeats}", kind.name(), r + 1);
        let run = once(kind, pg_base, senders, leads, callers, page, nodes).await?;
        a.push(run.replies_per_s);
        b.push(run.deliveries_per_s);
        c.push(run.with_inbox_per_s);
    }
    let load = machine::load_1m();
    let n = senders * leads;
    let into = match nodes {
        0 => String::new(),
        1 => " into 1 clustered node".to_string(),
        k => format!(" into {k} clustered nodes"),
    };
    let how = match page {
        0 => format!("Engine::ingest, {callers} callers{into}"),
        page => format!("Engine::ingest_all in pages of {page}, {callers} callers{into}"),
    };
    // One figure name per way of delivering: a call is an event when there are no pages.
    let (delivered, unit) = match page {
        0 => (
            format!("ingest calls (half duplicates), {callers} callers{into}"),
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
            format!("unique replies incl. the views' catch-up (inbox){into}"),
            "replies/s",
            c,
            load,
        )
        .note("inbox checked: one answered thread per reply"),
    ])
}
