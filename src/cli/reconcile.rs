//! `scim-bridge reconcile --target T [--dry-run] [--json] [--wait]`: compare the vendor with
//! the desired state, print the plan, queue the repairs. It opens the database and builds
//! the target's connector from the config, so it works while the server runs: the server's
//! workers carry the queued repairs out. `--wait` drives the engine in this process until
//! the queue is empty (for when no server runs).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::{PoolOptions, Store};
use crate::sync::reconcile::{reconcile, render_table};
use crate::sync::{Engine, Targets};

pub struct Args {
    pub target: String,
    pub dry_run: bool,
    pub json: bool,
    pub wait: bool,
    pub config: Option<PathBuf>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let path = a.config.or_else(|| {
        let p = PathBuf::from(super::serve::DEFAULT_CONFIG_FILE);
        p.exists().then_some(p)
    });
    let cfg = Config::load(path.as_deref()).map_err(anyhow::Error::msg)?;
    let targets = Targets::build(&cfg).map_err(anyhow::Error::msg)?;
    let Some(rt) = targets.get(&a.target) else {
        anyhow::bail!("no target `{}` in the config", a.target);
    };
    let store = Store::connect(
        &cfg.database_url,
        PoolOptions {
            max_connections: 2,
            ..PoolOptions::default()
        },
    )
    .await?;
    store.migrate().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let apply = !a.dry_run;
    let report = reconcile(&store, &a.target, rt, clock.as_ref(), apply, &actor).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_table(&report));
    }
    if apply && report.repairs_queued > 0 {
        if a.wait {
            let engine = Engine::new(
                store,
                Arc::new(targets),
                clock,
                cfg.sync.clone(),
                Arc::new(tokio::sync::Notify::new()),
            );
            let n = engine.run_until_idle(100_000).await?;
            if !a.json {
                println!("ran {n} job(s); the queue is empty");
            }
        } else if !a.json {
            println!(
                "repairs queued; a running `scim-bridge serve` applies them (or re-run with --wait)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
