//! The inbound queue: concurrent `Engine::ingest` calls (a webhook endpoint's) and the pages of
//! `Engine::ingest_all` (a poller's) handed to the driver together, so that the replies and
//! acceptances waiting meanwhile share one append (group commit). A lone call is a batch of one;
//! each event gets the answer one call would have had.

use actix::Addr;
use tokio::sync::{mpsc, oneshot};

use super::EngineError;
use crate::driver::{DriverActor, DriverMsg, DriverReply, Inbound, IngestOutcome};

/// The most inbound events one batch takes: enough that a burst of webhooks shares a handful of
/// commits, few enough that the driver's ticks are not held up for long.
const INGEST_BATCH: usize = 256;

/// How many callers' events may wait for the driver before callers wait to queue theirs.
pub(super) const INGEST_QUEUE: usize = 4_096;

/// One caller's inbound events waiting for the driver, in their order, each with where its
/// answer goes: one entry, so that a page is never interleaved with another caller's events.
pub(super) type Queued = Vec<(Inbound, oneshot::Sender<Result<IngestOutcome, EngineError>>)>;

/// Hands the queued events to the driver, every event waiting at once in batches of at most
/// [`INGEST_BATCH`], until the queue closes (the engine is gone).
pub(super) async fn hand_to_driver(driver: Addr<DriverActor>, mut queue: mpsc::Receiver<Queued>) {
    while let Some(mut queued) = queue.recv().await {
        while queued.len() < INGEST_BATCH {
            match queue.try_recv() {
                Ok(more) => queued.extend(more),
                Err(_) => break,
            }
        }
        while !queued.is_empty() {
            let rest = queued.split_off(queued.len().min(INGEST_BATCH));
            hand(&driver, std::mem::replace(&mut queued, rest)).await;
        }
    }
}

/// Hands one batch to the driver and each answer to its caller.
async fn hand(driver: &Addr<DriverActor>, batch: Queued) {
    let (events, replies): (Vec<Inbound>, Vec<_>) = batch.into_iter().unzip();
    let answers = match driver.send(DriverMsg::IngestAll(events)).await {
        Ok(Ok(DriverReply::IngestedAll(answers))) => answers,
        Ok(Err(e)) => vec![Err(e); replies.len()],
        Ok(Ok(_)) | Err(_) => vec![Err(EngineError::SystemDown); replies.len()],
    };
    for (reply, answer) in replies.into_iter().zip(answers) {
        // A caller that stopped waiting: its event is recorded all the same.
        let _ = reply.send(answer);
    }
}
