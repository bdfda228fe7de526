//! Write transactions, and the one connection SQLite writes go through.
//!
//! SQLite has one writer at a time. With writes spread over the pool, a writer that found
//! the lock taken slept in SQLite's busy handler (1, 2, 5, 10, … up to 100 ms between
//! tries) on a pooled connection and could lose the lock again to a later writer: with 8
//! concurrent creates the p99 was 0.5–0.9 s, and 8 queued writers held every connection,
//! so reads waited too. And a connection's page cache is dropped whenever another
//! connection has written, so every write re-read the ~30 pages it was about to change
//! (~60 `pread`s per create). So on SQLite every write runs on one dedicated connection
//! (`Store::sqlite_writer`, a pool of one, whose `acquire` is FIFO): writers queue in
//! order without holding a read connection, no `BEGIN IMMEDIATE` meets a lock held by
//! this process, and the writer's page cache stays warm (docs/performance.md, round 10).
//! Postgres writes use the pool (row locks, many writers at once).

/// Runs `$body` with `$pool` bound to the pool that writes go to: the pool on Postgres,
/// the dedicated writer connection on SQLite (the pool itself for an in-memory database,
/// which lives in its one connection).
macro_rules! with_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match (&$store.db, &$store.sqlite_writer) {
            ($crate::store::Db::Pg($pool), _) => $body,
            ($crate::store::Db::Sqlite(_), Some($pool)) => $body,
            ($crate::store::Db::Sqlite($pool), None) => $body,
        }
    };
}
pub(crate) use with_writer;

/// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite, so that a transaction that
/// reads then writes never fails to upgrade its lock; a plain `BEGIN` on Postgres.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::BeginWrite;
    use crate::store::{Db, PoolOptions, Store, StoreResult};

    /// The database file of [`sqlite_store`] in `dir`.
    pub(crate) fn sqlite_path(dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("store.db")
    }

    /// A migrated SQLite store on a file in `dir`, for the store's unit tests.
    pub(crate) async fn sqlite_store(dir: &tempfile::TempDir, max_connections: u32) -> Store {
        let url = format!("sqlite://{}", sqlite_path(dir).display());
        let opts = PoolOptions {
            max_connections,
            acquire_timeout: Duration::from_secs(3),
        };
        let store = Store::connect(&SecretString::from(url), opts)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// One writer as the store's write methods are written: appends `n` to the `order` row.
    async fn append(store: &Store, n: &str) -> StoreResult<()> {
        with_writer!(store, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(
                "UPDATE enrichment_status SET last_sweep = COALESCE(last_sweep, '') || $1 \
                 WHERE source = 'order'",
            )
            .bind(n)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Writers queue for the one write connection in the order they came, holding no
    /// read connection meanwhile. Were writes spread over the pool, a queued writer would
    /// wait inside SQLite's busy handler on a pooled connection: with a pool of two, the
    /// read below could not get one and the test fails on its timeout.
    #[tokio::test]
    async fn sqlite_writers_queue_in_order_on_one_connection_and_reads_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        let Db::Sqlite(pool) = &store.db else {
            panic!("sqlite")
        };
        let writer = store
            .sqlite_writer
            .as_ref()
            .expect("a file database has a writer");

        let mut first = writer.begin_write().await.unwrap();
        sqlx::query("INSERT INTO enrichment_status (source, updated_at) VALUES ('order', 1)")
            .execute(&mut *first)
            .await
            .unwrap();

        // Polled once each: both are now queued behind the open transaction.
        let mut second = std::pin::pin!(append(&store, "2"));
        assert!(futures::poll!(second.as_mut()).is_pending());
        let mut third = std::pin::pin!(append(&store, "3"));
        assert!(futures::poll!(third.as_mut()).is_pending());

        let read = tokio::time::timeout(Duration::from_secs(2), store.ping()).await;
        assert_eq!(
            read.ok(),
            Some(true),
            "a read was starved by queued writers"
        );

        first.commit().await.unwrap();
        let (a, b) = tokio::join!(second, third);
        a.unwrap();
        b.unwrap();
        let order: String =
            sqlx::query_scalar("SELECT last_sweep FROM enrichment_status WHERE source = 'order'")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(order, "23", "writers got their turns out of order");
    }
}
