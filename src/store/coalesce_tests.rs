use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::*;

/// A fake batch runner: records every batch, holds each query on a gate the test opens,
/// and fails or panics on request. Values are `key * 10` for keys below 1000.
#[derive(Default)]
struct Fake {
    batches: Mutex<Vec<Vec<u32>>>,
    gate: Option<Arc<Semaphore>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
    fail_key: Option<u32>,
    panic_key: Option<u32>,
}

impl BatchLookup for Arc<Fake> {
    type Shape = &'static str;
    type Key = u32;
    type Value = u32;

    async fn run(&self, _shape: &&'static str, keys: Vec<u32>) -> StoreResult<Vec<(u32, u32)>> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        self.batches.lock().unwrap().push(keys.clone());
        if let Some(g) = &self.gate {
            g.acquire().await.unwrap().forget();
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        if self.panic_key.is_some_and(|p| keys.contains(&p)) {
            panic!("fake lookup panics");
        }
        if self.fail_key.is_some_and(|f| keys.contains(&f)) {
            return Err(StoreError::Unavailable("fake outage".into()));
        }
        Ok(keys
            .into_iter()
            .filter(|k| *k < 1000)
            .map(|k| (k, k * 10))
            .collect())
    }
}

fn coalescer(fake: &Arc<Fake>, in_flight: usize, batch: usize) -> Arc<Coalescer<Arc<Fake>>> {
    Arc::new(Coalescer::new(Arc::clone(fake), in_flight, batch))
}

/// A fake whose queries wait for permits of the returned gate.
fn gated(fake: Fake) -> (Arc<Semaphore>, Arc<Fake>) {
    let gate = Arc::new(Semaphore::new(0));
    let fake = Arc::new(Fake {
        gate: Some(gate.clone()),
        ..fake
    });
    (gate, fake)
}

fn spawn_get(
    c: &Arc<Coalescer<Arc<Fake>>>,
    k: u32,
) -> tokio::task::JoinHandle<StoreResult<Option<u32>>> {
    let c = c.clone();
    tokio::spawn(async move { c.get("t", k).await })
}

fn queued(c: &Coalescer<Arc<Fake>>) -> usize {
    c.queues
        .lock()
        .unwrap()
        .get("t")
        .map_or(0, |q| q.waiting.len())
}

async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn an_idle_lookup_runs_at_once_and_absent_keys_are_none() {
    let fake = Arc::new(Fake::default());
    let c = coalescer(&fake, 2, 64);
    assert_eq!(c.get("t", 7).await.unwrap(), Some(70));
    assert_eq!(c.get("t", 5000).await.unwrap(), None);
    assert_eq!(*fake.batches.lock().unwrap(), vec![vec![7], vec![5000]]);
    assert!(
        c.queues.lock().unwrap().is_empty(),
        "idle shapes are forgotten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_queued_behind_busy_slots_share_the_next_query() {
    let (gate, fake) = gated(Fake::default());
    let c = coalescer(&fake, 1, 64);
    let first = spawn_get(&c, 1);
    until("the first query runs", || {
        fake.running.load(Ordering::SeqCst) == 1
    })
    .await;
    let rest: Vec<_> = (2..=40)
        .map(|k| {
            let c = c.clone();
            tokio::spawn(async move { (k, c.get("t", k).await) })
        })
        .collect();
    until("all are queued", || queued(&c) == 39).await;
    gate.add_permits(100);
    assert_eq!(first.await.unwrap().unwrap(), Some(10));
    for h in rest {
        let (k, v) = h.await.unwrap();
        assert_eq!(v.unwrap(), Some(k * 10));
    }
    let batches = fake.batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 2, "{batches:?}");
    assert_eq!(batches[0], vec![1]);
    let mut second = batches[1].clone();
    second.sort_unstable();
    assert_eq!(second, (2..=40).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_is_never_answered_by_a_query_sent_before_it_was_queued() {
    // The freshness rule: key 1's query is in flight when key 1 is asked again; the second
    // ask must get a query of its own, sent after it queued.
    let (gate, fake) = gated(Fake::default());
    let c = coalescer(&fake, 1, 64);
    let early = spawn_get(&c, 1);
    until("the first query runs", || {
        fake.running.load(Ordering::SeqCst) == 1
    })
    .await;
    let late = spawn_get(&c, 1);
    until("the second is queued", || queued(&c) == 1).await;
    gate.add_permits(1);
    assert_eq!(early.await.unwrap().unwrap(), Some(10));
    assert!(
        !late.is_finished(),
        "answered by the query sent before it queued"
    );
    gate.add_permits(1);
    assert_eq!(late.await.unwrap().unwrap(), Some(10));
    assert_eq!(fake.batches.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_and_batch_size_are_bounded_and_repeated_keys_are_asked_once() {
    let (gate, fake) = gated(Fake::default());
    let c = coalescer(&fake, 2, 8);
    let handles: Vec<_> = (0..100u32)
        .map(|i| {
            let c = c.clone();
            let k = i % 30;
            tokio::spawn(async move { (k, c.get("t", k).await) })
        })
        .collect();
    until("both slots run", || {
        fake.running.load(Ordering::SeqCst) == 2
    })
    .await;
    gate.add_permits(10_000);
    for h in handles {
        let (k, v) = h.await.unwrap();
        assert_eq!(v.unwrap(), Some(k * 10));
    }
    assert!(fake.max_running.load(Ordering::SeqCst) <= 2);
    for b in fake.batches.lock().unwrap().iter() {
        assert!(b.len() <= 8, "batch of {}", b.len());
        let mut d = b.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), b.len(), "a key asked twice in one query: {b:?}");
    }
    assert!(c.queues.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shapes_do_not_share_queries() {
    let fake = Arc::new(Fake::default());
    let c = coalescer(&fake, 1, 64);
    let (a, b) = tokio::join!(c.get("a", 1), c.get("b", 2));
    assert_eq!((a.unwrap(), b.unwrap()), (Some(10), Some(20)));
    assert_eq!(fake.batches.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_reaches_every_lookup_of_its_batch_and_the_next_batch_works() {
    let (gate, fake) = gated(Fake {
        fail_key: Some(13),
        ..Fake::default()
    });
    let c = coalescer(&fake, 1, 64);
    let first = spawn_get(&c, 1);
    until("the first query runs", || {
        fake.running.load(Ordering::SeqCst) == 1
    })
    .await;
    let behind: Vec<_> = [13, 14, 15].into_iter().map(|k| spawn_get(&c, k)).collect();
    until("three are queued", || queued(&c) == 3).await;
    gate.add_permits(100);
    assert_eq!(first.await.unwrap().unwrap(), Some(10));
    for h in behind {
        assert!(matches!(h.await.unwrap(), Err(StoreError::Unavailable(m)) if m == "fake outage"));
    }
    assert_eq!(c.get("t", 2).await.unwrap(), Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_batch_answers_with_an_error_and_frees_its_slot() {
    let fake = Arc::new(Fake {
        panic_key: Some(66),
        ..Fake::default()
    });
    let c = coalescer(&fake, 1, 64);
    assert!(matches!(c.get("t", 66).await, Err(StoreError::Corrupt(_))));
    assert_eq!(c.get("t", 3).await.unwrap(), Some(30), "the slot came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_inline_lookup_hands_its_slot_to_the_lookups_queued_behind_it() {
    let (gate, fake) = gated(Fake::default());
    let c = coalescer(&fake, 1, 64);
    // Runs its own query inline, then its client disconnects mid-query.
    let gone = spawn_get(&c, 1);
    until("the inline query runs", || {
        fake.running.load(Ordering::SeqCst) == 1
    })
    .await;
    let behind = spawn_get(&c, 2);
    until("the second is queued", || queued(&c) == 1).await;
    gone.abort();
    assert!(gone.await.unwrap_err().is_cancelled());
    gate.add_permits(100);
    assert_eq!(behind.await.unwrap().unwrap(), Some(20), "not stranded");
    assert!(c.queues.lock().unwrap().is_empty(), "the slot came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_queued_lookup_cancels_no_query() {
    let (gate, fake) = gated(Fake::default());
    let c = coalescer(&fake, 1, 64);
    let first = spawn_get(&c, 1);
    until("the inline query runs", || {
        fake.running.load(Ordering::SeqCst) == 1
    })
    .await;
    let (gone, stays) = (spawn_get(&c, 3), spawn_get(&c, 4));
    until("two are queued", || queued(&c) == 2).await;
    gate.add_permits(1);
    assert_eq!(first.await.unwrap().unwrap(), Some(10));
    until("their batch runs", || {
        fake.running.load(Ordering::SeqCst) == 1
    })
    .await;
    gone.abort();
    assert!(gone.await.unwrap_err().is_cancelled());
    gate.add_permits(100);
    assert_eq!(stays.await.unwrap().unwrap(), Some(40));
    let batches = fake.batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 2, "{batches:?}");
    let mut second = batches[1].clone();
    second.sort_unstable();
    assert_eq!(second, vec![3, 4]);
}
