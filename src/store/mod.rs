//! Durable state: SCIM resources, group membership, the outbox of sync jobs, the mapping
//! table, sync history and the enrichment cache. One `Store` over Postgres (production) or
//! SQLite (embedded default); the same SQL text runs on both (`$N` placeholders), and the
//! few dialect differences are spelled out where they occur.

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

mod coalesce;
mod conn_shelf;
mod create_batches;
mod create_batches_sqlite;
pub mod dialect;
pub mod enrichment;
pub mod gauge_counts;
pub mod group_members;
mod history_rows;
pub mod id_lookups;
mod in_list_batch;
mod job_claims;
pub mod jobs;
pub mod mappings;
pub mod membership;
pub mod page_hints;
mod page_position;
pub mod planner_stats;
pub mod reconcile;
mod replace_batches;
mod replace_batches_sqlite;
pub mod resource_deletes;
pub mod resource_reads;
pub mod resources;
pub mod run_lock;
mod single_statement;
pub(crate) mod sqlite_lower;
pub mod user_name_lookups;
pub mod wal_checkpoint;
mod write_tx;

pub use dialect::{Dialect, SqlFragment, SqlValue};

/// Runs `$body` with `$pool` bound to the concrete pool of either dialect. Each arm is
/// type-checked on its own, so the body is written once and compiled for both databases.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::Db::Pg($pool) => $body,
            $crate::store::Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

pub(crate) use conn_shelf::{with_conn, with_pg_conn};

/// Binds dynamically built values onto a query of either dialect.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                $crate::store::SqlValue::Text(s) => q.bind(s.clone()),
                $crate::store::SqlValue::Int(i) => q.bind(*i),
                $crate::store::SqlValue::Float(f) => q.bind(*f),
                $crate::store::SqlValue::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}
pub(crate) use bind_values;

#[derive(Debug, Clone)]
pub(crate) enum Db {
    Pg(PgPool),
    Sqlite(SqlitePool),
}

/// The handle every layer shares; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: Db,
    /// Where recent full pages ended (keyset continuation for `startIndex` walks).
    pub(crate) page_hints: std::sync::Arc<page_hints::PageHints>,
    /// Postgres only: connections kept out of the pool for one-statement queries.
    pub(crate) shelf: Option<std::sync::Arc<conn_shelf::ConnShelf>>,
    /// Postgres with a shelf: concurrent `userName eq` lookups share one query.
    pub(crate) user_name_lookups: Option<std::sync::Arc<user_name_lookups::UserNameLookups>>,
    /// Postgres with a shelf: concurrent reads by id of one target and type share one query.
    pub(crate) id_lookups: Option<std::sync::Arc<id_lookups::IdLookups>>,
    /// Concurrent member-less user creates share one statement (Postgres with a shelf) or
    /// one transaction (SQLite).
    pub(crate) creates: Option<create_batches::CreateBatches>,
    /// Concurrent replaces of member-less users share one statement (Postgres with a
    /// shelf) or one transaction (SQLite).
    pub(crate) replaces: Option<replace_batches::ReplaceBatches>,
    /// SQLite on a file: the one connection every write goes through (`write_tx`).
    pub(crate) sqlite_writer: Option<SqlitePool>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (userName, group displayName).
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// `If-Match` named another version.
    #[error("version mismatch: current version is {current}")]
    VersionMismatch { current: i64 },
    /// The database cannot be reached: retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A deadlock or serialisation failure (Postgres 40P01 / 40001): safe to retry.
    #[error("database contention: {0}")]
    Contention(String),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The request names something that does not exist (e.g. an unknown group member).
    #[error("{0}")]
    Invalid(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Postgres answered the statement with an error, so nothing of it committed (a lost
    /// connection or a driver error leaves that unknown).
    pub(crate) fn refused_by_database(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict(_)
                | StoreError::Contention(_)
                | StoreError::Invalid(_)
                | StoreError::Db(sqlx::Error::Database(_))
        )
    }

    /// A copy for each of several callers that share one failed query (`coalesce.rs`):
    /// the same variant and message; a driver error keeps its text as a protocol error,
    /// which the SCIM layer treats like the original (500, logged).
    pub fn clone_lossy(&self) -> StoreError {
        match self {
            StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
            StoreError::NotFound => StoreError::NotFound,
            StoreError::VersionMismatch { current } => {
                StoreError::VersionMismatch { current: *current }
            }
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            StoreError::Contention(m) => StoreError::Contention(m.clone()),
            StoreError::Db(e) => StoreError::Db(sqlx::Error::Protocol(e.to_string())),
            StoreError::Migrate(e) => StoreError::Db(sqlx::Error::Protocol(e.to_string())),
            StoreError::Invalid(m) => StoreError::Invalid(m.clone()),
            StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(d.message().to_string())
            }
            sqlx::Error::Database(d)
                if matches!(d.code().as_deref(), Some("40P01") | Some("40001")) =>
            {
                StoreError::Contention(d.message().to_string())
            }
            // Postgres: admin shutdown / cannot connect now / connection failure classes.
            sqlx::Error::Database(d)
                if d.code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) =>
            {
                StoreError::Unavailable(d.message().to_string())
            }
            // Postgres: program limit exceeded, e.g. a value too long for its index entry: the
            // client's data, not a server fault.
            sqlx::Error::Database(d) if d.code().as_deref() == Some("54000") => {
                StoreError::Invalid(
                    "a value is too long to store: userName, externalId, displayName and \
                     emails must each stay under 2,700 bytes"
                        .into(),
                )
            }
            // Postgres: a NUL in a bound string (`character_not_in_repertoire`, or
            // `untranslatable_character` for `\u0000` in jsonb). Only client input can hold
            // one (an id or key in a URL, an admin request's body): a 400, not a 500.
            sqlx::Error::Database(d)
                if matches!(d.code().as_deref(), Some("22021") | Some("22P05")) =>
            {
                StoreError::Invalid(
                    "a value holds U+0000 (NUL), which nothing here can hold".into(),
                )
            }
            // SQLite: database is locked / busy.
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5") | Some("6")) => {
                StoreError::Unavailable(d.message().to_string())
            }
            _ => StoreError::Db(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A pooled Postgres connection idle longer than this is pinged before it is used.
const IDLE_PING_AFTER: Duration = Duration::from_secs(2);

/// Pool sizing for one process.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Store {
    /// Connects lazily-validated pools: `postgres://…` / `postgresql://…` or `sqlite://…`.
    /// A SQLite file is created when missing.
    pub async fn connect(url: &SecretString, opts: PoolOptions) -> StoreResult<Store> {
        let url = url.expose_secret();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let co = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .min_connections(1)
                .acquire_timeout(opts.acquire_timeout)
                // sqlx pings every connection it hands out by default: one extra round
                // trip per query. Only a connection idle for a while is checked (a
                // restarted database is found there); a busy one that breaks fails its
                // query (503, retryable) and sqlx discards it on release.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for > IDLE_PING_AFTER {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(co)
                .await?;
            // Half the pool at most, so transactions and workers always have the rest.
            let shelf = (opts.max_connections >= 2).then(|| {
                let cap = (opts.max_connections / 2) as usize;
                std::sync::Arc::new(conn_shelf::ConnShelf::new(pool.clone(), cap))
            });
            let user_name_lookups = shelf.clone().map(user_name_lookups::pg_lookups);
            let id_lookups = shelf.clone().map(id_lookups::pg_id_lookups);
            let creates = shelf.clone().map(create_batches::pg_creates);
            let replaces = shelf.clone().map(replace_batches::pg_replaces);
            Ok(Store {
                db: Db::Pg(pool),
                page_hints: Default::default(),
                shelf,
                user_name_lookups,
                id_lookups,
                creates,
                replaces,
                sqlite_writer: None,
            })
        } else if url.starts_with("sqlite:") {
            let co = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            // In-memory databases live per connection: keep exactly one, for everything.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let max = if in_memory {
                1
            } else {
                opts.max_connections.min(8)
            };
            // No ping before each use (sqlx's default): a SQLite connection is a file
            // handle that cannot break as a socket can, and the ping is a hop to the
            // connection's thread and back on every query.
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .min_connections(1)
                .test_before_acquire(false)
                .after_connect(|conn, _| Box::pin(sqlite_lower::register(conn)))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(co.clone())
                .await?;
            // Every write goes through this one connection (`write_tx`), kept open so its
            // page cache stays warm.
            let sqlite_writer = if in_memory {
                None
            } else {
                Some(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .min_connections(1)
                        .test_before_acquire(false)
                        .after_connect(|conn, _| Box::pin(sqlite_lower::register(conn)))
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .acquire_timeout(opts.acquire_timeout)
                        // The log is checkpointed in the background (`wal_checkpoint.rs`).
                        .connect_with(
                            co.pragma("wal_autocheckpoint", wal_checkpoint::BACKSTOP_PAGES)
                                .pragma("journal_size_limit", wal_checkpoint::LOG_SIZE_LIMIT),
                        )
                        .await?,
                )
            };
            let writes_to = sqlite_writer.clone().unwrap_or_else(|| pool.clone());
            let creates = create_batches::CreateBatches::Sqlite(
                create_batches_sqlite::sqlite_creates(writes_to.clone()),
            );
            let replaces = replace_batches::ReplaceBatches::Sqlite(
                replace_batches_sqlite::sqlite_replaces(writes_to),
            );
            Ok(Store {
                db: Db::Sqlite(pool),
                page_hints: Default::default(),
                shelf: None,
                user_name_lookups: None,
                id_lookups: None,
                creates: Some(creates),
                replaces: Some(replaces),
                sqlite_writer,
            })
        } else {
            Err(StoreError::Unavailable(
                "database_url must start with postgres://, postgresql:// or sqlite:".into(),
            ))
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.db {
            Db::Pg(_) => Dialect::Postgres,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Applies pending migrations. On Postgres the migrator holds an advisory lock, so
    /// several processes starting at once apply each migration exactly once.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.db {
            Db::Pg(p) => PG_MIGRATOR.run(p).await?,
            Db::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
        }
        Ok(())
    }

    /// True when a trivial query succeeds within the pool's acquire timeout.
    pub async fn ping(&self) -> bool {
        with_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.is_ok())
    }

    pub async fn close(&self) {
        // The pool's close waits for every checked-out connection: empty the shelf first.
        if let Some(shelf) = &self.shelf {
            shelf.close();
        }
        with_pool!(self, p => p.close().await)
    }
}
