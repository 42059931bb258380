//! The inbound queue: concurrent `Engine::ingest` calls (a webhook endpoint's) handed to the
//! driver together, so that the replies and acceptances waiting meanwhile share one append (group
//! commit). A lone call is a batch of one; each caller gets the answer one call would have had.

use actix::Addr;
use tokio::sync::{mpsc, oneshot};

use super::EngineError;
use crate::driver::{DriverActor, DriverMsg, DriverReply, Inbound, IngestOutcome};

/// The most inbound events one batch takes: enough that a burst of webhooks shares a handful of
/// commits, few enough that the driver's ticks are not held up for long.
const INGEST_BATCH: usize = 256;

/// How many inbound events may wait for the driver before callers wait to queue theirs.
pub(super) const INGEST_QUEUE: usize = 4_096;

/// An inbound event waiting for the driver, and where its answer goes.
pub(super) type Queued = (Inbound, oneshot::Sender<Result<IngestOutcome, EngineError>>);

/// Hands the queued events to the driver, every event waiting at once in one batch, until the
/// queue closes (the engine is gone).
pub(super) async fn hand_to_driver(driver: Addr<DriverActor>, mut queue: mpsc::Receiver<Queued>) {
    while let Some(first) = queue.recv().await {
        let mut queued = vec![first];
        while queued.len() < INGEST_BATCH {
            match queue.try_recv() {
                Ok(next) => queued.push(next),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<Inbound>, Vec<_>) = queued.into_iter().unzip();
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
}
