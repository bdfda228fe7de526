//! SQLite: the write-ahead log is copied into the database file in the background, not
//! on a writer's commit.
//!
//! With SQLite's default (`wal_autocheckpoint = 1000` pages), the commit that takes the
//! log past 1000 pages copies it into the database and syncs both files before its
//! request is answered. Under a stream of writes that is several times a second, on the
//! one write connection every write waits for (`write_tx.rs`): with no checkpoint at
//! all, 8 clients' PUTs ran 1.7× as fast (docs/performance.md, round 25). So the writer
//! checkpoints only past [`BACKSTOP_PAGES`] (a process that runs no background tasks
//! still bounds its log), and [`checkpoint_loop`] runs a `PASSIVE` checkpoint every
//! [`CHECKPOINT_EVERY`] on a read connection: it copies what no reader still needs and
//! never takes a lock the writer or a reader waits for. A log fully copied is restarted
//! by the next write (between bursts; during one, only after the backstop's
//! checkpoint), and its file is reused; `journal_size_limit`, above the backstop's
//! size, only cuts back a file that grew past it.
//!
//! The period is short on purpose: a checkpoint's syncs still slow the writer's log
//! writes (the file system's, not SQLite's locks), for as long as the checkpoint has
//! pages to copy. The p99 of PUTs was 93–554 ms with a checkpoint every 1 s, 56–115 ms
//! every 100 ms and 36–58 ms every 25 ms, about the default's (29–72 ms in the same
//! runs), at 1.4–2.4× its rate. While the log does not change the period doubles, up to
//! [`IDLE_PERIODS`] periods (an idle bridge ran a query every 25 ms: 0.85 % of a core).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Db, Store, StoreResult};

/// How often the background checkpoint runs while the log grows.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(25);
/// The longest wait, in periods, while the log does not change.
pub const IDLE_PERIODS: u32 = 40;
/// Log pages (4 KiB) past which the committing writer checkpoints itself: ~125 MiB.
/// Under a stream of writes the log is never wholly copied when a write starts, so it
/// restarts only after this checkpoint, which syncs on the writer: at 8000 pages that
/// was 2–3 times a second during bulk creates (docs/performance.md, round 26).
pub(super) const BACKSTOP_PAGES: &str = "32000";
/// Bytes the log file is truncated to when it restarts: above the backstop's size, so a
/// log that grows to it is reused, not cut and grown again each time.
pub(super) const LOG_SIZE_LIMIT: &str = "167772160";

/// What one checkpoint found: pages in the log, and how many of them are now in the
/// database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalCheckpoint {
    pub log_pages: i64,
    pub copied_pages: i64,
}

impl Store {
    /// SQLite on a file: a `PASSIVE` checkpoint. `None` on Postgres and for an in-memory
    /// database (no log).
    pub async fn checkpoint_wal(&self) -> StoreResult<Option<WalCheckpoint>> {
        let (Db::Sqlite(pool), Some(_)) = (&self.db, &self.sqlite_writer) else {
            return Ok(None);
        };
        let (_busy, log_pages, copied_pages): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(pool)
                .await?;
        Ok(Some(WalCheckpoint {
            log_pages,
            copied_pages,
        }))
    }
}

/// The wait before the next checkpoint: `every` when the log changed since the last one,
/// else twice the last wait, up to `IDLE_PERIODS` times `every`.
fn next_wait(last: Duration, every: Duration, changed: bool) -> Duration {
    if changed {
        every
    } else {
        (last * 2).min(every * IDLE_PERIODS)
    }
}

/// Checkpoints the log every `every` while it changes (less often while it does not)
/// until `stop`; returns at once when the store has no log. A failure is logged once,
/// when it starts, and the loop goes on (the writer's backstop still bounds the log).
pub async fn checkpoint_loop(store: Store, every: Duration, stop: CancellationToken) {
    let mut failing = false;
    let mut last = None;
    let mut wait = every;
    loop {
        let changed = match store.checkpoint_wal().await {
            Ok(None) => return,
            Ok(Some(found)) => {
                failing = false;
                last.replace(found) != Some(found)
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "SQLite WAL checkpoint failed; retrying");
                }
                failing = true;
                true
            }
        };
        wait = next_wait(wait, every, changed);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use secrecy::SecretString;
    use serde_json::{Map, Value, json};
    use sqlx::ConnectOptions;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;
    use crate::scim::ResourceType;
    use crate::store::PoolOptions;
    use crate::store::resources::ResourceWrite;
    use crate::store::write_tx::tests::{sqlite_path, sqlite_store};

    /// Users as the database file holds them, without the log (`immutable`: what a
    /// checkpoint has copied).
    async fn users_in_file(path: &std::path::Path) -> i64 {
        let url = format!("sqlite://{}?immutable=1", path.display());
        let mut c = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .read_only(true)
            .connect()
            .await
            .unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM scim_resources")
            .fetch_one(&mut c)
            .await
            .unwrap()
    }

    /// Writes reach the database file within a few of the loop's periods, although the
    /// log is far below the writer's own checkpoint (so without the loop they stay in the
    /// log); and the loop ends when told to.
    #[tokio::test]
    async fn the_loop_copies_commits_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = sqlite_path(&dir);
        let store = sqlite_store(&dir, 2).await;
        store.checkpoint_wal().await.unwrap();
        assert_eq!(users_in_file(&path).await, 0);
        let stop = CancellationToken::new();
        let every = Duration::from_millis(20);
        let looping = tokio::spawn(checkpoint_loop(store.clone(), every, stop.clone()));
        for i in 0..5 {
            let Value::Object(data) = json!({"userName": format!("u{i}@corp.example")}) else {
                unreachable!()
            };
            let data: Map<String, Value> = data;
            let w = ResourceWrite {
                target: "t1",
                resource_type: ResourceType::User,
                id: &format!("u{i}"),
                data: &data,
                members: None,
                now_ms: 1_700_000_000_000,
                method: "POST",
            };
            store.create_resource(&w).await.unwrap();
        }
        let mut seen = 0;
        for _ in 0..100 {
            seen = users_in_file(&path).await;
            if seen == 5 {
                break;
            }
            tokio::time::sleep(every).await;
        }
        assert_eq!(seen, 5, "the commits never reached the database file");
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(2), looping)
            .await
            .expect("the loop did not stop")
            .unwrap();
    }

    /// The writer, the one connection that commits, checkpoints only past the backstop
    /// and keeps a log file up to the size limit (the read connections never commit).
    #[tokio::test]
    async fn the_writer_runs_with_the_backstop() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        let writer = store
            .sqlite_writer
            .as_ref()
            .expect("a file store has a writer");
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(writer)
            .await
            .unwrap();
        assert_eq!(pages.to_string(), BACKSTOP_PAGES);
        let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit")
            .fetch_one(writer)
            .await
            .unwrap();
        assert_eq!(limit.to_string(), LOG_SIZE_LIMIT);
        assert!(
            limit > pages * 4096,
            "a log at the backstop is cut at every restart"
        );
    }

    /// The wait doubles while nothing changes, up to its cap, and is one period again at
    /// the first change.
    #[test]
    fn an_unchanged_log_is_checkpointed_less_often() {
        let every = Duration::from_millis(25);
        let mut wait = every;
        let mut waits = Vec::new();
        for _ in 0..8 {
            wait = next_wait(wait, every, false);
            waits.push(wait.as_millis());
        }
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(next_wait(wait, every, true), every);
    }

    /// Postgres and in-memory SQLite have no log to copy: the loop returns at once.
    #[tokio::test]
    async fn without_a_log_the_loop_returns() {
        let opts = PoolOptions {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(3),
        };
        let store = Store::connect(&SecretString::from("sqlite::memory:".to_string()), opts)
            .await
            .unwrap();
        assert_eq!(store.checkpoint_wal().await.unwrap(), None);
        let never = CancellationToken::new();
        tokio::time::timeout(
            Duration::from_secs(2),
            checkpoint_loop(store, Duration::from_millis(10), never),
        )
        .await
        .expect("the loop ran without a log");
    }
}
