//! Concurrent point lookups of the same shape share one query.
//!
//! A `GET /Users?filter=userName eq "…"` is one indexed select; under load most of its
//! cost is the round trip (the bridge's and Postgres' socket work, a backend wake-up per
//! query), not the index probe (docs/performance.md, round 4). A [`Coalescer`] queues
//! lookups per shape (target, joins) and lets at most `max_in_flight` batch queries of a
//! shape run at once: a lookup that finds a free slot starts a batch at once (no added
//! latency when idle); one that arrives while the slots are busy waits for the next batch,
//! which takes every lookup queued by then (up to `max_batch`).
//!
//! **Freshness**: a lookup is only ever answered by a query *sent after it was queued*, so
//! it sees every write committed before the request arrived, exactly as its own query
//! would (an IdP's `POST` then `GET ?filter=` finds the user).
//!
//! Batches run in spawned tasks: a client that disconnects drops only its own wait, never
//! the query other lookups wait on. A panicking batch answers its lookups with an error and
//! the shape keeps working.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::oneshot;

use super::{StoreError, StoreResult};

/// Runs one batch: the values found for `keys` (absent keys are simply missing).
pub(crate) trait BatchLookup: Send + Sync + 'static {
    type Shape: Hash + Eq + Clone + Send + Sync + 'static;
    type Key: Hash + Eq + Clone + Send + Sync + 'static;
    type Value: Clone + Send + 'static;

    fn run(
        &self,
        shape: &Self::Shape,
        keys: Vec<Self::Key>,
    ) -> impl Future<Output = StoreResult<Vec<(Self::Key, Self::Value)>>> + Send;
}

type Reply<V> = oneshot::Sender<StoreResult<Option<V>>>;
/// Lookups taken for one query, each with where its answer goes.
type Batch<B> = Vec<(<B as BatchLookup>::Key, Reply<<B as BatchLookup>::Value>)>;
type Queues<B> =
    HashMap<<B as BatchLookup>::Shape, Queue<<B as BatchLookup>::Key, <B as BatchLookup>::Value>>;

/// What a lookup does once it is counted.
enum Plan<K, V> {
    /// Runs its own query in its own task.
    Inline(K),
    /// Starts a driver for this batch (it includes the lookup) and waits for its answer.
    Drive(Vec<(K, Reply<V>)>),
    /// Queued for the next batch of a running driver.
    Wait,
}

struct Queue<K, V> {
    in_flight: usize,
    waiting: Vec<(K, Reply<V>)>,
}

impl<K, V> Default for Queue<K, V> {
    fn default() -> Self {
        Self {
            in_flight: 0,
            waiting: Vec::new(),
        }
    }
}

pub(crate) struct Coalescer<B: BatchLookup> {
    lookup: B,
    max_in_flight: usize,
    max_batch: usize,
    queues: Mutex<Queues<B>>,
}

impl<B: BatchLookup> std::fmt::Debug for Coalescer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("max_in_flight", &self.max_in_flight)
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

fn poisoned() -> StoreError {
    StoreError::Unavailable("lookup queue unusable after a panic".into())
}

impl<B: BatchLookup> Coalescer<B> {
    /// `max_in_flight` and `max_batch` are at least 1.
    pub fn new(lookup: B, max_in_flight: usize, max_batch: usize) -> Self {
        Self {
            lookup,
            max_in_flight: max_in_flight.max(1),
            max_batch: max_batch.max(1),
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key`, read by a query sent after this call queued it.
    pub async fn get(
        self: &Arc<Self>,
        shape: B::Shape,
        key: B::Key,
    ) -> StoreResult<Option<B::Value>> {
        let (tx, rx) = oneshot::channel();
        let plan = {
            let mut queues = self.queues.lock().map_err(|_| poisoned())?;
            let q = queues.entry(shape.clone()).or_default();
            let free = q.in_flight < self.max_in_flight;
            if free {
                q.in_flight += 1;
            }
            if free && q.waiting.is_empty() {
                Plan::Inline(key)
            } else {
                q.waiting.push((key, tx));
                if free {
                    Plan::Drive(self.take_batch(q))
                } else {
                    Plan::Wait
                }
            }
        };
        match plan {
            // A free slot and no one queued: this lookup's own query, in this task (no
            // spawn, no wake-up of another thread: the common case when lightly loaded).
            Plan::Inline(key) => self.run_inline(shape, key).await,
            Plan::Drive(batch) => {
                tokio::spawn(Arc::clone(self).drive(shape, batch));
                recv(rx).await
            }
            Plan::Wait => recv(rx).await,
        }
    }

    async fn run_inline(
        self: &Arc<Self>,
        shape: B::Shape,
        key: B::Key,
    ) -> StoreResult<Option<B::Value>> {
        // Gives the slot back even when this future is dropped mid-query (a client that
        // disconnects): lookups queued meanwhile are handed to a driver, never stranded.
        let slot = Slot {
            coalescer: self,
            shape: &shape,
        };
        let result = AssertUnwindSafe(self.lookup.run(&shape, vec![key.clone()]))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(StoreError::Corrupt("a batched lookup panicked".into())));
        drop(slot);
        Ok(result?.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v))
    }

    /// After a batch: the next batch of `shape` for the same slot, or the slot given back.
    fn next_batch(&self, shape: &B::Shape) -> Option<Batch<B>> {
        // A poisoned lock is unreachable (nothing panics while holding it); the queued
        // senders are then dropped with the map, so their lookups get errors.
        let mut queues = self.queues.lock().ok()?;
        let q = queues.get_mut(shape)?;
        if !q.waiting.is_empty() {
            return Some(self.take_batch(q));
        }
        q.in_flight -= 1;
        if q.in_flight == 0 {
            queues.remove(shape);
        }
        None
    }

    fn take_batch(&self, q: &mut Queue<B::Key, B::Value>) -> Batch<B> {
        let n = q.waiting.len().min(self.max_batch);
        q.waiting.drain(..n).collect()
    }

    /// Runs batches of `shape` until its queue is empty, then gives its slot back.
    async fn drive(self: Arc<Self>, shape: B::Shape, mut batch: Batch<B>) {
        loop {
            let mut by_key: HashMap<B::Key, Vec<Reply<B::Value>>> = HashMap::new();
            for (k, reply) in batch {
                by_key.entry(k).or_default().push(reply);
            }
            let keys = by_key.keys().cloned().collect();
            let result = AssertUnwindSafe(self.lookup.run(&shape, keys))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(StoreError::Corrupt("a batched lookup panicked".into())));
            deliver(by_key, result);
            let next = self.next_batch(&shape);
            match next {
                Some(b) => batch = b,
                None => return,
            }
        }
    }
}

/// The slot of an inline lookup: on drop, handed to a driver for the lookups queued
/// meanwhile, or given back.
struct Slot<'a, B: BatchLookup> {
    coalescer: &'a Arc<Coalescer<B>>,
    shape: &'a B::Shape,
}

impl<B: BatchLookup> Drop for Slot<'_, B> {
    fn drop(&mut self) {
        if let Some(batch) = self.coalescer.next_batch(self.shape) {
            tokio::spawn(Arc::clone(self.coalescer).drive(self.shape.clone(), batch));
        }
    }
}

async fn recv<V>(rx: oneshot::Receiver<StoreResult<Option<V>>>) -> StoreResult<Option<V>> {
    rx.await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(
            "lookup dropped (shutting down)".into(),
        ))
    })
}

/// Answers every lookup of a batch: its value (moved to the last reply of a key, cloned
/// only for the rare repeated key) or the batch's error.
fn deliver<K: Eq + Hash, V: Clone>(
    by_key: HashMap<K, Vec<Reply<V>>>,
    result: StoreResult<Vec<(K, V)>>,
) {
    match result {
        Ok(rows) => {
            let mut found: HashMap<K, V> = rows.into_iter().collect();
            for (k, mut replies) in by_key {
                let value = found.remove(&k);
                let last = replies.pop();
                // A receiver that is gone (client disconnected) needs no answer.
                for reply in replies {
                    let _ = reply.send(Ok(value.clone()));
                }
                if let Some(reply) = last {
                    let _ = reply.send(Ok(value));
                }
            }
        }
        Err(e) => {
            for reply in by_key.into_values().flatten() {
                let _ = reply.send(Err(e.clone_lossy()));
            }
        }
    }
}

#[cfg(test)]
#[path = "coalesce_tests.rs"]
mod tests;
