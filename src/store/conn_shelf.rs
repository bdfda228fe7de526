//! Postgres connections kept checked out of sqlx's pool for one-statement queries.
//!
//! sqlx pings every connection given back to its pool (a `Sync` round trip, not
//! configurable: it flushes what a cancelled query may have left behind). On a
//! `GET /Users?filter=…` that ping was 14 % of the bridge's CPU and a second round trip
//! for Postgres (docs/performance.md, round 3). The shelf keeps up to `cap` connections
//! out of the pool and hands them to one-statement queries: a lease whose statement
//! finished cleanly goes back on the shelf without a ping. Anything else (an error, a
//! query cancelled mid-flight, a full shelf) drops the connection into sqlx's pool, which
//! pings it as before and discards it if it is broken. A connection that sat on the shelf
//! longer than [`super::IDLE_PING_AFTER`] is pinged before use, as the pool does, so a
//! restarted database is noticed there.
//!
//! Transactions do not use the shelf: they take pool connections as before.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use sqlx::Connection;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, Postgres};

use super::IDLE_PING_AFTER;

/// Runs `$body` (a `StoreResult`) with `$conn` an executor for one statement: on Postgres
/// a connection leased from the shelf, put back only when `$body` returned `Ok` (see
/// `conn_shelf`); on SQLite the pool.
macro_rules! with_conn {
    ($store:expr, $conn:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Pg(pool) => {
                $crate::store::with_pg_conn!($store, pool, $conn => $body)
            }
            $crate::store::Db::Sqlite($conn) => $body,
        }
    };
}
pub(crate) use with_conn;

/// `with_conn!` for a statement only Postgres runs: `$pool` is the store's `PgPool`, used
/// when the store has no shelf.
macro_rules! with_pg_conn {
    ($store:expr, $pool:expr, $conn:ident => $body:expr) => {
        match &$store.shelf {
            Some(shelf) => {
                let mut lease = shelf.lease().await?;
                let result = match lease.conn() {
                    Some($conn) => $body,
                    None => Err($crate::store::StoreError::Unavailable(
                        "connection lease already returned".into(),
                    )),
                };
                if result.is_ok() {
                    lease.done();
                }
                result
            }
            None => {
                let $conn = $pool;
                $body
            }
        }
    };
}
pub(crate) use with_pg_conn;

#[derive(Debug)]
pub(crate) struct ConnShelf {
    pool: PgPool,
    cap: usize,
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
    closed: AtomicBool,
    /// Leases waiting in `pool.acquire()`.
    waiting: AtomicUsize,
}

impl ConnShelf {
    /// Keeps at most `cap` connections of `pool` (the rest of the pool serves
    /// transactions, the workers and overflow).
    pub fn new(pool: PgPool, cap: usize) -> Self {
        Self {
            pool,
            cap,
            idle: Mutex::new(Vec::with_capacity(cap)),
            closed: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
        }
    }

    fn pop(&self) -> Option<(PoolConnection<Postgres>, Instant)> {
        self.idle.lock().ok()?.pop()
    }

    /// A connection for one statement: from the shelf when one is there, else the pool.
    pub async fn lease(&self) -> Result<Lease<'_>, sqlx::Error> {
        while let Some((mut conn, since)) = self.pop() {
            if since.elapsed() <= IDLE_PING_AFTER || conn.ping().await.is_ok() {
                return Ok(Lease::new(self, conn));
            }
            // Broken while it sat on the shelf: sqlx closes it on release.
        }
        let _waiting = Waiting::new(&self.waiting);
        Ok(Lease::new(self, self.pool.acquire().await?))
    }

    /// Gives every shelved connection back to the pool and keeps none from now on (the
    /// pool's `close` waits for checked-out connections).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let drained = self.idle.lock().map(|mut v| std::mem::take(&mut *v));
        drop(drained);
    }

    /// True while a lease is queued in sqlx's pool. The pool serves its queue in order; a
    /// connection kept on the shelf then would let newcomers overtake the queued lease
    /// (seen in the bench: 5 s waits and 503s at 64 concurrent deep-page reads), so it
    /// goes back to the pool instead.
    fn leases_are_queued(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }

    fn put_back(&self, conn: PoolConnection<Postgres>) {
        if self.leases_are_queued() {
            return;
        }
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        if idle.len() < self.cap && !self.closed.load(Ordering::SeqCst) {
            idle.push((conn, Instant::now()));
        }
        // Full: dropping `conn` returns it to the pool.
    }

    /// How many connections are on the shelf now (tests).
    #[cfg(test)]
    pub fn idle_len(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }
}

/// Counts a caller queued in the pool, also when its wait is cancelled.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One connection on loan. [`Lease::done`] after the statement succeeded puts it back on
/// the shelf; dropped without `done` (error, cancellation) it goes back to sqlx's pool.
pub(crate) struct Lease<'a> {
    shelf: &'a ConnShelf,
    conn: Option<PoolConnection<Postgres>>,
    clean: bool,
}

impl<'a> Lease<'a> {
    fn new(shelf: &'a ConnShelf, conn: PoolConnection<Postgres>) -> Self {
        Self {
            shelf,
            conn: Some(conn),
            clean: false,
        }
    }

    /// `None` only after `Drop` has taken it, which cannot be observed here.
    pub fn conn(&mut self) -> Option<&mut PgConnection> {
        self.conn.as_deref_mut()
    }

    /// The statement finished and its result was read to the end.
    pub fn done(mut self) {
        self.clean = true;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.clean
        {
            self.shelf.put_back(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool() -> Option<PgPool> {
        let Ok(url) = std::env::var("DATABASE_URL") else {
            eprintln!("DATABASE_URL not set: skipping the connection shelf test");
            return None;
        };
        Some(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect(&url)
                .await
                .expect("connect to DATABASE_URL"),
        )
    }

    #[tokio::test]
    async fn only_clean_leases_go_back_on_the_shelf() {
        let Some(pool) = pool().await else { return };
        let shelf = ConnShelf::new(pool.clone(), 1);
        // A statement that succeeded: back on the shelf.
        let mut lease = shelf.lease().await.unwrap();
        let c = lease.conn().unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        lease.done();
        assert_eq!(shelf.idle_len(), 1);
        // The next lease is that connection, without going through the pool.
        let mut lease = shelf.lease().await.unwrap();
        let again: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(lease.conn().unwrap())
            .await
            .unwrap();
        assert_eq!(pid, again);
        // Dropped without `done` (an error, a cancelled query): to the pool, not the shelf.
        drop(lease);
        assert_eq!(shelf.idle_len(), 0);
        // A full shelf keeps no more than `cap`.
        let (a, b) = (shelf.lease().await.unwrap(), shelf.lease().await.unwrap());
        a.done();
        b.done();
        assert_eq!(shelf.idle_len(), 1);
        // Closed: emptied, and nothing is kept afterwards.
        shelf.close();
        assert_eq!(shelf.idle_len(), 0);
        shelf.lease().await.unwrap().done();
        assert_eq!(shelf.idle_len(), 0);
        tokio::time::timeout(std::time::Duration::from_secs(10), pool.close())
            .await
            .expect("nothing is left checked out");
    }

    #[tokio::test]
    async fn a_lease_queued_in_the_pool_is_not_overtaken() {
        let Some(url) = std::env::var("DATABASE_URL").ok() else {
            return;
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect(&url)
            .await
            .unwrap();
        let shelf = std::sync::Arc::new(ConnShelf::new(pool.clone(), 2));
        let a = shelf.lease().await.unwrap();
        let b = shelf.lease().await.unwrap();
        // The pool is exhausted: a third lease queues there.
        let s2 = shelf.clone();
        let queued = tokio::spawn(async move { s2.lease().await.map(Lease::done) });
        while shelf.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Finished cleanly, but someone is queued: back to the pool, to that lease.
        a.done();
        assert_eq!(shelf.idle_len(), 0);
        queued
            .await
            .unwrap()
            .expect("the queued lease got the connection");
        b.done();
        shelf.close();
        pool.close().await;
    }
}
