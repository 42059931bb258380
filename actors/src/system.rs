//! The private actix `System` the engine's actors run on, on a thread of its own, so that the
//! embedding program needs no actix runtime and sees no actix type.

use std::future::Future;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A running actix system on its own thread.
pub(crate) struct ActorSystem {
    system: actix::System,
    thread: Option<JoinHandle<()>>,
}

/// The actor system's thread could not start or has stopped.
#[derive(Debug, thiserror::Error)]
#[error("the engine's actor system is not running")]
pub struct SystemDown;

impl ActorSystem {
    /// Starts the system thread.
    pub(crate) fn start() -> Result<Self, SystemDown> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("plera-actors".into())
            .spawn(move || {
                let sys = actix::System::new();
                if tx.send(actix::System::current()).is_ok() {
                    let _ = sys.run();
                }
            })
            .map_err(|_| SystemDown)?;
        let system = rx.recv().map_err(|_| SystemDown)?;
        Ok(Self {
            system,
            thread: Some(thread),
        })
    }

    /// Runs `make` on the system's thread (where actors may be started) and returns its result.
    pub(crate) fn run<F, Fut, T>(
        &self,
        make: F,
    ) -> impl Future<Output = Result<T, SystemDown>> + Send + 'static
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        // The closure is sent to the system's thread; the future it makes stays there (it may
        // hold actor addresses and other thread-local things).
        let spawned = self.system.arbiter().spawn_fn(move || {
            actix::spawn(async move {
                let _ = tx.send(make().await);
            });
        });
        async move {
            if !spawned {
                return Err(SystemDown);
            }
            rx.await.map_err(|_| SystemDown)
        }
    }

    /// Stops the system and waits for its thread.
    pub(crate) fn stop(&mut self) {
        self.system.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ActorSystem {
    fn drop(&mut self) {
        self.stop();
    }
}
