//! A rebuild from position 0, its rows kept in memory ([`Runner::rebuild`]).
//!
//! Every view is kept by a *keeper*: a blocking thread that owns the view's rows (a complete
//! [`Snapshot`]) and folds the batches it is sent, in log order. The rebuild's own task reads and
//! decodes the log and hands each batch to every keeper; it never waits for a fold, only for a
//! keeper that is [`KEEPER_QUEUE`] batches behind. So the views fold side by side at their own
//! pace, and the reading and the writes go on meanwhile. A flush is a request queued behind the
//! batches: each keeper answers it with the rows it changed since the last one, as they stand
//! after exactly the batches sent before it, and those rows are written with the checkpoints in
//! one transaction while the next batches are read and folded.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use plera_projections::queries::ViewError;
use plera_projections::rows::{Key, KeyHasher, Table, Value};
use plera_projections::stage::{Row, Snapshot};
use plera_projections::{Decoded, Projection};
use tokio::sync::{mpsc, oneshot};

use super::db::{Db, Dialect};
use super::runner::{advance, decode, write_table, Runner};

/// When a rebuild writes the rows its folds changed, with the checkpoints: once this many rows
/// changed or this many batches were folded since the last write, whichever comes first, and at
/// the end. A rebuild's progress is on record, and survives a crash, at least this often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlushDue {
    rows: usize,
    batches: usize,
}

impl FlushDue {
    /// SQLite: 50,000 rows or 25 batches. The writes are a few bulk statements per table, and the
    /// write lock, which a live engine's appends queue behind, is held for a moment only.
    /// PostgreSQL: four times as many. There a view write locks only its own rows, and each
    /// written row costs the server a new row version and a primary-key entry (the secondary
    /// indexes are built at the end, [`super::indexes`]). Each write takes every row changed
    /// since the last one, so a row that keeps changing is written once per interval: longer
    /// intervals write fewer rows again. Measured on a million events, 65,181–87,092 events/s
    /// against 59,845–61,079 (BENCHMARKS.md §2, session 12); 8 and 16 times were no faster, and
    /// with the indexes built at the end 4× still beat 1× and 16× (session 13).
    fn on(dialect: Dialect) -> Self {
        let sqlite = Self {
            rows: 50_000,
            batches: 25,
        };
        match dialect {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => Self {
                rows: sqlite.rows * 4,
                batches: sqlite.batches * 4,
            },
        }
    }
}

/// How many batches a keeper may have waiting: enough that a slow view does not hold up the
/// others for one batch's fold, few enough that the decoded batches held stay small.
const KEEPER_QUEUE: usize = 4;

impl Runner<'_> {
    /// Replays the whole log into `views`, whose tables and checkpoints [`Runner::reset`] has just
    /// emptied (the caller holds the runner lock from the reset on). Every row a batch reads was
    /// written by an earlier batch of this rebuild, so the rows stay in memory (a complete
    /// [`Snapshot`] per view, owned by its keeper, see the module): each batch is folded once,
    /// with nothing to load, and the rows it changed are written in bulk, with the checkpoints,
    /// as often as [`FlushDue`] says for the database, and at the end. `progress(done, total)`
    /// follows each batch handed to the views.
    ///
    /// The rows written are exactly those [`Runner::run`] writes: the same folds over the same
    /// batches, each seeing the rows as they stand. If another runner (another process) moved a
    /// checkpoint meanwhile, the rows in memory are dropped and the incremental runner takes over
    /// from the stored checkpoints.
    pub(crate) async fn rebuild(
        &self,
        views: &[Arc<dyn Projection>],
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64, ViewError> {
        let changed = Arc::new(AtomicUsize::new(0));
        let (keepers, handles): (Vec<Keeper>, Vec<_>) = views
            .iter()
            .map(|view| Keeper::start(Arc::clone(view), Arc::clone(&changed)))
            .unzip();
        let fed = self.feed(&keepers, &changed, progress).await;
        // Every keeper ends once its queue is closed and drained; a keeper's own failure explains
        // any error the feeding met on its queue, so it comes first.
        drop(keepers);
        let mut failed = None;
        for (view, handle) in views.iter().zip(handles) {
            let outcome = handle
                .await
                .map_err(|e| stopped(&format!("the fold of view {}", view.name()), &e))
                .and_then(|kept| kept);
            if let Err(e) = outcome {
                failed.get_or_insert(e);
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        match fed? {
            Fed::Done(at) => Ok(at),
            Fed::Moved => {
                let views: Vec<&dyn Projection> = views.iter().map(|v| v.as_ref()).collect();
                self.run(&views, progress).await
            }
        }
    }

    /// Reads the log, hands every batch to every keeper and writes a flush whenever one falls
    /// due (and at the end): returns the position reached, or that a checkpoint moved under it.
    async fn feed(
        &self,
        keepers: &[Keeper],
        changed: &AtomicUsize,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<Fed, ViewError> {
        let (mut at, mut flushed, mut batches, mut changed_at_flush) = (0u64, 0u64, 0usize, 0);
        let due = FlushDue::on(self.db.dialect());
        let mut total = None;
        let mut next = self.read_decoded(0).await?;
        // The last flush that fell due: its rows gathered from the keepers, then written, while
        // the next batches are read and handed out; the next flush waits for it (flushes move the
        // checkpoints one after the other).
        let mut writing: Option<FlushWrite> = None;
        while let Some((last, decoded)) = next.take() {
            let total = match total {
                Some(total) => total,
                None => *total.insert(self.log_end().await?),
            };
            // The next batch is read while this one waits for room in the keepers' queues.
            let step = async {
                let (handed, read) =
                    tokio::join!(hand_out(keepers, decoded), self.read_decoded(last));
                handed.and(read)
            };
            tokio::pin!(step);
            let mut written = Ok(true);
            let read = loop {
                let Some(write) = writing.as_mut() else {
                    break (&mut step).await;
                };
                tokio::select! {
                    out = &mut step => break out,
                    done = write => {
                        writing = None;
                        written = done;
                    }
                }
            };
            if !written? {
                return Ok(Fed::Moved);
            }
            next = read?;
            (at, batches) = (last, batches + 1);
            progress(at, total.max(at));
            let rows = changed.load(Ordering::Relaxed);
            if rows - changed_at_flush >= due.rows || batches >= due.batches {
                if !self.start_flush(&mut writing, keepers, flushed, at).await? {
                    return Ok(Fed::Moved);
                }
                (flushed, batches, changed_at_flush) = (at, 0, rows);
            }
        }
        if at > flushed && !self.start_flush(&mut writing, keepers, flushed, at).await? {
            return Ok(Fed::Moved);
        }
        if let Some(write) = writing {
            if !write.await? {
                return Ok(Fed::Moved);
            }
        }
        Ok(Fed::Done(at))
    }

    /// Asks every keeper for its rows changed up to `to` (queued behind the batches sent), waits
    /// for the flush being written, then starts writing this one: false (nothing started) if
    /// the previous one found a checkpoint moved.
    async fn start_flush(
        &self,
        writing: &mut Option<FlushWrite>,
        keepers: &[Keeper],
        from: u64,
        to: u64,
    ) -> Result<bool, ViewError> {
        let mut answers = Vec::with_capacity(keepers.len());
        for keeper in keepers {
            let (reply, answer) = oneshot::channel();
            keeper.send(ToKeeper::Flush(reply)).await?;
            answers.push((Arc::clone(&keeper.view), answer));
        }
        if let Some(write) = writing.take() {
            if !write.await? {
                return Ok(false);
            }
        }
        // A task of its own: the statements are built and their rows bound on another thread
        // than the one reading and decoding the log.
        let db = self.db.clone();
        *writing = Some(FlushWrite(tokio::spawn(async move {
            let mut views = Vec::with_capacity(answers.len());
            for (view, answer) in answers {
                let tables = answer.await.map_err(|_| keeper_gone(view.as_ref()))?;
                views.push((view, tables));
            }
            write_flush(&db, Flush { from, to, views }).await
        })));
        Ok(true)
    }

    /// The batch after `after`, decoded (on a blocking thread: it is CPU work) and shared by the
    /// keepers, with its last position; `None` at the log's end.
    async fn read_decoded(
        &self,
        after: u64,
    ) -> Result<Option<(u64, Arc<Vec<Decoded>>)>, ViewError> {
        let Some((last, batch)) = self.read_batch(after).await? else {
            return Ok(None);
        };
        let decoded = tokio::task::spawn_blocking(move || decode(&batch))
            .await
            .map_err(|e| stopped("the decoding", &e))??;
        Ok(Some((last, Arc::new(decoded))))
    }
}

/// How feeding the keepers ended.
enum Fed {
    /// Every batch folded and written, up to this position.
    Done(u64),
    /// Another runner moved a checkpoint: the rows in memory are not the stored ones.
    Moved,
}

/// Hands a batch to every keeper (waiting while a keeper's queue is full).
async fn hand_out(keepers: &[Keeper], batch: Arc<Vec<Decoded>>) -> Result<(), ViewError> {
    for keeper in keepers {
        keeper.send(ToKeeper::Fold(Arc::clone(&batch))).await?;
    }
    Ok(())
}

/// Writes a flush's rows and moves the checkpoints from its `from` to its `to`, in one
/// transaction; false (nothing written) if a checkpoint moved.
async fn write_flush(db: &Db, flush: Flush) -> Result<bool, ViewError> {
    let mut tx = db.begin().await?;
    for (view, tables) in &flush.views {
        if !advance(&mut tx, db, view.as_ref(), flush.from, flush.to).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        for t in tables {
            let upserts: Vec<&[Value]> = t.upserts.iter().map(|row| &**row).collect();
            let deletes: Vec<&Key> = t.deletes.iter().collect();
            write_table(&mut tx, db, t.table, &upserts, &deletes).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// A flush being written, on a task of its own: whether the checkpoints were still where the
/// rebuild left them. Dropped (a rebuild stopped part way), it aborts the task: a transaction
/// not committed yet rolls back, and the rows stay as of the stored checkpoints.
struct FlushWrite(tokio::task::JoinHandle<Result<bool, ViewError>>);

impl Future for FlushWrite {
    type Output = Result<bool, ViewError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|done| {
            done.map_err(|e| stopped("the flush's write", &e))
                .and_then(|kept| kept)
        })
    }
}

impl Drop for FlushWrite {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The rows a rebuild's flush writes, as they stood in the keepers' memory when it fell due
/// (shared, not copied: a fold that changes one meanwhile replaces it), and the checkpoints' move.
struct Flush {
    from: u64,
    to: u64,
    views: Vec<(Arc<dyn Projection>, Vec<TableWrites>)>,
}

/// One table's rows to write: those changed since the last flush, as they stand, and the keys
/// of those deleted.
struct TableWrites {
    table: &'static Table,
    upserts: Vec<Row>,
    deletes: Vec<Key>,
}

/// What a keeper is asked to do, in order.
enum ToKeeper {
    /// Fold the next batch.
    Fold(Arc<Vec<Decoded>>),
    /// Answer with the rows changed since the last flush (emptying the dirty set).
    Flush(oneshot::Sender<Vec<TableWrites>>),
}

/// The rebuild's end of one keeper: its queue.
struct Keeper {
    view: Arc<dyn Projection>,
    queue: mpsc::Sender<ToKeeper>,
}

impl Keeper {
    /// Starts the keeper of `view` on a blocking thread of its own; `changed` counts the rows
    /// every keeper's folds changed (the flushes' trigger).
    fn start(
        view: Arc<dyn Projection>,
        changed: Arc<AtomicUsize>,
    ) -> (Self, tokio::task::JoinHandle<Result<(), ViewError>>) {
        let (queue, mut asked) = mpsc::channel(KEEPER_QUEUE);
        let mut kept = Rebuilding {
            view: Arc::clone(&view),
            rows: Snapshot::complete(),
            dirty: BTreeMap::new(),
        };
        let handle = tokio::task::spawn_blocking(move || {
            while let Some(ask) = asked.blocking_recv() {
                match ask {
                    ToKeeper::Fold(batch) => {
                        let n = kept.fold(&batch)?;
                        changed.fetch_add(n, Ordering::Relaxed);
                    }
                    // The rebuild may have stopped waiting: nothing to do then.
                    ToKeeper::Flush(reply) => drop(reply.send(kept.take_writes())),
                }
            }
            Ok(())
        });
        (Self { view, queue }, handle)
    }

    /// Queues `ask`; an error if the keeper stopped (its failure is the real error, which
    /// [`Runner::rebuild`] reports instead).
    async fn send(&self, ask: ToKeeper) -> Result<(), ViewError> {
        self.queue
            .send(ask)
            .await
            .map_err(|_| keeper_gone(self.view.as_ref()))
    }
}

/// The keys of one table's rows changed since the last flush (sorted only when flushed).
type Dirty = HashSet<Key, KeyHasher>;

/// One view being rebuilt: all its rows, and the keys changed since the last flush.
struct Rebuilding {
    view: Arc<dyn Projection>,
    rows: Snapshot,
    dirty: BTreeMap<&'static str, (&'static Table, Dirty)>,
}

impl Rebuilding {
    /// Folds a batch (once: the snapshot answers every read) and applies its changes; returns how
    /// many rows it changed.
    fn fold(&mut self, events: &[Decoded]) -> Result<usize, ViewError> {
        let dirty = &mut self.dirty;
        let n = self
            .rows
            .fold_noting(self.view.as_ref(), events, |table, key| {
                let (_, keys) = dirty
                    .entry(table.name)
                    .or_insert_with(|| (table, Dirty::default()));
                if !keys.contains(key) {
                    keys.insert(key.to_vec());
                }
            })?;
        Ok(n)
    }

    /// The rows changed since the last flush, as they stand, and the keys of those deleted, in
    /// key order (SQLite's B-trees take sorted writes fastest); the dirty set starts again empty.
    fn take_writes(&mut self) -> Vec<TableWrites> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|(name, (table, keys))| {
                let mut keys: Vec<Key> = keys.into_iter().collect();
                keys.sort_unstable();
                let (mut upserts, mut deletes) = (Vec::new(), Vec::new());
                for key in keys {
                    match self.rows.row(name, &key) {
                        Some(row) => upserts.push(Row::clone(row)),
                        None => deletes.push(key),
                    }
                }
                TableWrites {
                    table,
                    upserts,
                    deletes,
                }
            })
            .collect()
    }
}

/// The error of a keeper that stopped before the rebuild was done with it.
fn keeper_gone(view: &dyn Projection) -> ViewError {
    ViewError::Storage(format!("the fold of view {} stopped", view.name()))
}

/// A blocking task that did not return: a panic (or the runtime shutting down) becomes an error
/// of the rebuild instead of a panic of its caller.
fn stopped(what: &str, e: &tokio::task::JoinError) -> ViewError {
    let how = if e.is_panic() {
        "panicked"
    } else {
        "was cancelled"
    };
    ViewError::Storage(format!("{what} {how}"))
}
