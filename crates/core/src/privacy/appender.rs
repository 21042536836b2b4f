//! The appender: the one place this server extends the audit chain and makes its head durable,
//! with group commit.
//!
//! It holds the head it last made durable, and builds only on it or past it (a tail short of
//! it was cut, and appending would launder the cut). Entries with no write of their own — every
//! gated read, find and copy — are handed to it and written together, a batch in one
//! transaction; writers that commit their entry with their own change hand it the head they
//! wrote. Each batch then moves the key store's anchor once and syncs the signed head file
//! once, and only then is anyone in it released: an access is still on record, durably, before
//! its answer — but a hundred readers at once pay for one commit and one sync, not a hundred.
//!
//! Whoever finds the appender idle writes what is waiting, their own entry with everyone
//! else's; callers that arrive meanwhile wait for the next turn, which takes them all. A turn
//! runs as a task of its own, so a caller that goes away (a client that hung up) cannot leave
//! the others' entries half written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use vintrova_vault::Vault;

use crate::audit::{AuditDraft, ChainSealer};
use crate::store::{ChainHead, Store, StoreError};
use crate::{CoreError, Result};

/// What this server knows of the chain's durable state.
#[derive(Debug, Clone)]
struct Durable {
    head: Option<ChainHead>,
    /// The last entry pruned (the signed checkpoint), which may have taken the whole log.
    pruned: Option<ChainHead>,
}

/// A turn's outcome for one caller: errors are shared by everyone in the batch.
type Outcome = std::result::Result<(), Arc<CoreError>>;

#[derive(Default)]
struct Queue {
    /// Entries with no write of their own, to be written in the next batch.
    entries: Vec<AuditDraft>,
    /// Heads writers committed with their own change, to be made durable.
    heads: Vec<ChainHead>,
    /// Who waits for an entry of `entries`, and who for a head of `heads`.
    entry_waiters: Vec<oneshot::Sender<Outcome>>,
    head_waiters: Vec<oneshot::Sender<Outcome>>,
}

/// What one caller hands over.
enum Handed {
    Entry(AuditDraft),
    Head(ChainHead),
}

pub(crate) struct Appender {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    /// Read from the anchors and the checkpoint on first use, then moved by every anchor.
    durable: Mutex<Option<Durable>>,
    queue: Mutex<Queue>,
    /// Held for a whole turn; fair, so callers are served in the order they came.
    turn: Arc<tokio::sync::Mutex<()>>,
    counts: Counts,
}

/// How the appender has grouped its work since the server started.
#[derive(Debug, Default)]
struct Counts {
    turns: AtomicU64,
    entries: AtomicU64,
    heads: AtomicU64,
}

/// How the appender has grouped its work since the server started: each turn writes one
/// batch and makes one head durable, however many entries and writers' heads it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppenderCounts {
    pub turns: u64,
    /// Entries with no write of their own, written in batches.
    pub entries: u64,
    /// Heads writers committed with their own change, made durable by a turn.
    pub heads: u64,
}

impl Appender {
    pub(crate) fn new(store: Arc<dyn Store>, vault: Arc<Vault>) -> Self {
        Appender {
            store,
            vault,
            durable: Mutex::new(None),
            queue: Mutex::new(Queue::default()),
            turn: Arc::new(tokio::sync::Mutex::new(())),
            counts: Counts::default(),
        }
    }

    pub(crate) fn counts(&self) -> AppenderCounts {
        AppenderCounts {
            turns: self.counts.turns.load(Ordering::Relaxed),
            entries: self.counts.entries.load(Ordering::Relaxed),
            heads: self.counts.heads.load(Ordering::Relaxed),
        }
    }

    /// Record an entry with no write of its own; returns once it is written and its head
    /// durable.
    pub(crate) async fn append(self: &Arc<Self>, draft: AuditDraft) -> Result<()> {
        self.hand(Handed::Entry(draft)).await
    }

    /// Make the head a writer committed with its change durable; returns once it is.
    pub(crate) async fn anchor(self: &Arc<Self>, head: ChainHead) -> Result<()> {
        self.hand(Handed::Head(head)).await
    }

    /// The sealer for a write of its own: it links the entry, and refuses a tail short of the
    /// head this server knows durable.
    pub(crate) async fn sealer(&self) -> Result<ChainSealer<'_>> {
        let known = self.durable().await?;
        Ok(ChainSealer::continuing(
            self.vault.chain(),
            known.head,
            known.pruned,
        ))
    }

    /// Forget the durable head, so the next append reads it from the anchors again (after a
    /// prune, an accepted break, or a refusal that may come from stale knowledge).
    pub(crate) fn reload(&self) {
        *self.durable.lock().expect("durable head lock") = None;
    }

    async fn hand(self: &Arc<Self>, handed: Handed) -> Result<()> {
        let (tx, mut rx) = oneshot::channel();
        {
            let mut queue = self.queue.lock().expect("appender queue lock");
            match handed {
                Handed::Entry(draft) => {
                    queue.entries.push(draft);
                    queue.entry_waiters.push(tx);
                }
                Handed::Head(head) => {
                    queue.heads.push(head);
                    queue.head_waiters.push(tx);
                }
            }
        }
        let turn = self.turn.clone().lock_owned().await;
        // The turn before may have taken what this caller handed over.
        if let Ok(done) = rx.try_recv() {
            return done.map_err(relay);
        }
        let batch = std::mem::take(&mut *self.queue.lock().expect("appender queue lock"));
        let appender = self.clone();
        let run = tokio::spawn(async move {
            appender.write(batch).await;
            drop(turn);
        });
        if run.await.is_err() {
            return Err(stopped());
        }
        match rx.await {
            Ok(done) => done.map_err(relay),
            Err(_) => Err(stopped()),
        }
    }

    /// One turn: the waiting entries in one transaction, then one anchor for the furthest head.
    async fn write(&self, batch: Queue) {
        let Queue {
            entries,
            mut heads,
            entry_waiters,
            head_waiters,
        } = batch;
        self.counts.turns.fetch_add(1, Ordering::Relaxed);
        self.counts
            .entries
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        self.counts
            .heads
            .fetch_add(heads.len() as u64, Ordering::Relaxed);
        let written = if entries.is_empty() {
            Ok(())
        } else {
            match self.write_entries(&entries).await {
                Ok(head) => {
                    heads.push(head);
                    Ok(())
                }
                Err(e) => Err(Arc::new(e)),
            }
        };
        let anchored = match heads.into_iter().max_by_key(|(seq, _)| *seq) {
            Some(head) => self.make_durable(head).await.map_err(Arc::new),
            None => Ok(()),
        };
        let entries_done = written.and(anchored.clone());
        for waiter in entry_waiters {
            // A caller that went away no longer waits; its entry is written all the same.
            let _ = waiter.send(entries_done.clone());
        }
        for waiter in head_waiters {
            let _ = waiter.send(anchored.clone());
        }
    }

    async fn write_entries(&self, entries: &[AuditDraft]) -> Result<ChainHead> {
        let sealer = self.sealer().await?;
        match self.store.append_audit(entries, &sealer).await {
            Ok(head) => Ok(head),
            Err(e) => {
                // What this server knew may be stale (another server pruned the whole log):
                // the next turn reads the anchors and the checkpoint again.
                if matches!(e, StoreError::ChainTail(_)) {
                    self.reload();
                }
                Err(e.into())
            }
        }
    }

    async fn make_durable(&self, head: ChainHead) -> Result<()> {
        self.vault.anchor(head.0, &head.1).await?;
        let mut durable = self.durable.lock().expect("durable head lock");
        if let Some(known) = durable.as_mut()
            && known.head.as_ref().is_none_or(|k| k.0 < head.0)
        {
            known.head = Some(head);
        }
        Ok(())
    }

    /// The furthest head made durable and the checkpoint, from the key store the first time.
    async fn durable(&self) -> Result<Durable> {
        if let Some(known) = self.durable.lock().expect("durable head lock").clone() {
            return Ok(known);
        }
        let read = Durable {
            head: self.vault.durable_head().await?,
            // A checkpoint not signed by this server is a forged cut: nothing builds on it.
            pruned: self
                .vault
                .checkpoint()
                .await
                .map_err(crate::audit::unsigned_checkpoint)?
                .map(|c| (c.seq, c.hash)),
        };
        let mut durable = self.durable.lock().expect("durable head lock");
        Ok(durable.get_or_insert(read).clone())
    }
}

fn stopped() -> CoreError {
    CoreError::Internal(
        "the audit appender stopped before it recorded this access; nothing was answered, try again"
            .into(),
    )
}

/// A batch's failure, for each caller in it: what the caller acts on (the store's and the
/// chain's errors) keeps its kind; the rest keeps its words.
fn relay(shared: Arc<CoreError>) -> CoreError {
    Arc::try_unwrap(shared).unwrap_or_else(|shared| match &*shared {
        CoreError::Store(e) => CoreError::Store(e.clone()),
        CoreError::AuditBroken(brk) => CoreError::AuditBroken(brk.clone()),
        CoreError::Tampered(brk) => CoreError::Tampered(brk.clone()),
        other => CoreError::Internal(other.to_string()),
    })
}
