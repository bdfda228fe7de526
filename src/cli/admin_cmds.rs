//! `token`, `config check`, `mappings`, `sync retry`, `queue`: they talk to the database
//! directly, so they work while the server runs (and when it does not).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use rand::RngCore;

use super::{MappingsCommand, SyncCommand};
use crate::clock::{Clock, SystemClock, rfc3339_ms};
use crate::config::Config;
use crate::store::mappings::{MappingFilter, MappingRow};
use crate::store::{PoolOptions, Store};

/// A new random token and its SHA-256 hex.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!(
        "sb_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hex::encode(crate::state::hash_token(&token));
    (token, hash)
}

pub fn token_create(target: Option<String>, admin: bool) -> ExitCode {
    let (token, hash) = new_token();
    println!("token (shown once; give it to the IdP): {token}");
    if admin {
        println!("config line: admin_token_sha256 = [\"{hash}\"]");
    } else {
        let t = target.unwrap_or_else(|| "<name>".into());
        println!("config line under [targets.{t}]: token_sha256 = [\"{hash}\"]");
        println!("(keep the old hash in the list while the IdP switches over, then remove it)");
    }
    ExitCode::SUCCESS
}

pub fn config_check(path: &Path) -> ExitCode {
    match Config::load(Some(path)) {
        Ok(cfg) => match crate::sync::Targets::build(&cfg) {
            Ok(_) => {
                println!("{}: OK ({} target(s))", path.display(), cfg.targets.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

async fn open_store(config: Option<PathBuf>) -> anyhow::Result<Store> {
    let path = config.or_else(|| {
        let p = PathBuf::from(super::serve::DEFAULT_CONFIG_FILE);
        p.exists().then_some(p)
    });
    let cfg = Config::load(path.as_deref()).map_err(anyhow::Error::msg)?;
    let store = Store::connect(
        &cfg.database_url,
        PoolOptions {
            max_connections: 2,
            ..PoolOptions::default()
        },
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

fn ts(ms: Option<i64>) -> String {
    ms.map(rfc3339_ms).unwrap_or_else(|| "-".into())
}

fn print_table(rows: &[MappingRow]) {
    println!(
        "{:<14} {:<6} {:<36} {:<28} {:<14} {:<13} ERROR",
        "TARGET", "TYPE", "SCIM ID", "SCIM KEY", "VENDOR ID", "STATE"
    );
    for r in rows {
        println!(
            "{:<14} {:<6} {:<36} {:<28} {:<14} {:<13} {}",
            r.target,
            r.resource_type,
            r.resource_id,
            r.scim_key.as_deref().unwrap_or("-"),
            r.vendor_id.as_deref().unwrap_or("-"),
            r.state,
            r.last_error.as_deref().unwrap_or("")
        );
    }
}

pub async fn mappings(cmd: MappingsCommand, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    match cmd {
        MappingsCommand::List {
            target,
            state,
            search,
            limit,
            json,
        } => {
            let f = MappingFilter {
                target,
                state,
                search,
                offset: 0,
                limit,
            };
            let (total, rows) = store.list_mappings(&f).await?;
            if json {
                println!("{}", serde_json::json!({"total": total, "mappings": rows}));
            } else {
                print_table(&rows);
                println!("({} of {total} shown)", rows.len());
            }
        }
        MappingsCommand::Show { key, target, json } => {
            let rows = store.find_mappings(&key, target.as_deref()).await?;
            if rows.is_empty() {
                eprintln!("no mapping matches `{key}` (try a SCIM id, a userName or a vendor id)");
                return Ok(ExitCode::FAILURE);
            }
            let mut out = Vec::new();
            for r in rows {
                let history = store.history(&r.target, &r.resource_id, 200).await?;
                if json {
                    out.push(serde_json::json!({"mapping": r, "history": history}));
                    continue;
                }
                println!(
                    "{} {} {} ({})",
                    r.target,
                    r.resource_type,
                    r.resource_id,
                    r.scim_key.as_deref().unwrap_or("-")
                );
                println!("  state:        {}", r.state);
                println!("  vendor id:    {}", r.vendor_id.as_deref().unwrap_or("-"));
                println!("  vendor key:   {}", r.vendor_key.as_deref().unwrap_or("-"));
                println!(
                    "  vendor state: {}",
                    r.vendor_status.as_deref().unwrap_or("-")
                );
                println!("  last error:   {}", r.last_error.as_deref().unwrap_or("-"));
                println!(
                    "  attempts:     {}   next attempt: {}   last synced: {}",
                    r.attempts,
                    ts(r.next_attempt),
                    ts(r.last_synced)
                );
                println!("  history:");
                for h in history {
                    let call = match (&h.method, &h.path) {
                        (Some(m), Some(p)) => format!(
                            "{m} {p} -> {}",
                            h.status
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| "no answer".into())
                        ),
                        (Some(m), None) => m.clone(),
                        _ => String::new(),
                    };
                    println!(
                        "    {} {:<7} {} {}",
                        rfc3339_ms(h.at),
                        h.kind,
                        call,
                        h.message.as_deref().unwrap_or("")
                    );
                }
            }
            if json {
                println!("{}", serde_json::Value::Array(out));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn sync(cmd: SyncCommand, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let now = SystemClock.now_ms();
    match cmd {
        SyncCommand::Retry {
            key: Some(key),
            target,
            ..
        } => {
            let rows = store.find_mappings(&key, target.as_deref()).await?;
            if rows.is_empty() {
                eprintln!("no mapping matches `{key}`");
                return Ok(ExitCode::FAILURE);
            }
            for r in rows {
                store
                    .retry_mappings(Some(&r.target), Some(&r.resource_id), &actor, now)
                    .await?;
                println!(
                    "retry queued: {} {} {}",
                    r.target, r.resource_type, r.resource_id
                );
            }
        }
        SyncCommand::Retry {
            key: None,
            failed: true,
            target,
        } => {
            let n = store
                .retry_mappings(target.as_deref(), None, &actor, now)
                .await?;
            println!("retry queued for {n} failed or retrying mapping(s)");
        }
        SyncCommand::Retry { .. } => {
            eprintln!("name a resource (SCIM id, userName or vendor id) or pass --failed");
            return Ok(ExitCode::FAILURE);
        }
    }
    tracing::info!(%actor, "sync retry requested from the CLI");
    Ok(ExitCode::SUCCESS)
}

pub async fn queue(config: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let now = SystemClock.now_ms();
    let stats = store.queue_stats(now).await?;
    if json {
        println!("{}", serde_json::json!({"targets": stats}));
    } else {
        println!("{:<16} {:>8} {:>8} OLDEST", "TARGET", "DEPTH", "DUE");
        for s in &stats {
            let age = s
                .oldest_enqueued_at
                .map(|t| format!("{}s ago", (now - t) / 1000))
                .unwrap_or_else(|| "-".into());
            println!("{:<16} {:>8} {:>8} {age}", s.target, s.depth, s.due);
        }
        if stats.is_empty() {
            println!("(queue empty)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
