//! `scim-bridge demo`: the bridge with its three vendor simulators, SQLite, fresh tokens,
//! ready-to-paste `curl` commands, and optionally the scripted scenario.

use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::config::LogFormat;
use crate::demo::{DemoTokens, demo_config, print_banner, run_scenario};
use crate::startup::{Application, BuildOptions};
use crate::store::{PoolOptions, Store};

/// The address the demo tries first.
const DEFAULT_DEMO_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Push a few users and groups as Okta would, and print what each vendor received.
    #[arg(long)]
    pub scenario: bool,
    /// Stop after the scenario instead of serving on (scripts and tests).
    #[arg(long, requires = "scenario")]
    pub exit_after_scenario: bool,
    /// Address to serve on [default: 127.0.0.1:8080, or a free port when 8080 is taken].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite database, kept after exit [default: a fresh temporary
    /// directory, removed on exit: the simulators live in memory, so a run starts clean].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Where the demo keeps its database, and whether to remove it on exit.
struct DataDir {
    path: PathBuf,
    temporary: bool,
}

impl DataDir {
    fn prepare(arg: Option<PathBuf>) -> anyhow::Result<DataDir> {
        let (path, temporary) = match arg {
            Some(p) => (p, false),
            None => {
                let name = format!(
                    "scim-bridge-demo-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                );
                (std::env::temp_dir().join(name), true)
            }
        };
        let probe = path.join(".scim-bridge-write-test");
        let ok = std::fs::create_dir_all(&path).and_then(|()| std::fs::write(&probe, b"ok"));
        if let Err(e) = ok {
            bail!(
                "cannot write to the data directory {}: {e}\n\
                 hint: pass a writable directory with --data-dir DIR (or leave it out to use a \
                 fresh temporary directory)",
                path.display()
            );
        }
        let _ = std::fs::remove_file(&probe);
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        Ok(DataDir { path, temporary })
    }

    fn cleanup(&self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Binds the listener; on the default address, falls back to a free port when it is taken.
async fn bind(listen: Option<SocketAddr>) -> anyhow::Result<tokio::net::TcpListener> {
    let explicit = listen.is_some();
    let addr: SocketAddr = match listen {
        Some(a) => a,
        None => DEFAULT_DEMO_LISTEN.parse()?,
    };
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == ErrorKind::AddrInUse && !explicit => {
            let l = tokio::net::TcpListener::bind((addr.ip(), 0)).await?;
            println!(
                "Port {} is in use, so the demo uses {} instead (choose one with --listen ADDR).",
                addr.port(),
                l.local_addr()?.port()
            );
            Ok(l)
        }
        Err(e) if e.kind() == ErrorKind::AddrInUse => bail!(
            "{addr} is already in use (another scim-bridge?)\n\
             hint: pick another address, e.g. --listen 127.0.0.1:8081, or --listen 127.0.0.1:0 \
             for any free port"
        ),
        Err(e) => bail!(
            "cannot listen on {addr}: {e}\nhint: pass an address this machine has, e.g. \
             --listen 127.0.0.1:8080"
        ),
    }
}

pub async fn demo(args: DemoArgs, log: Option<LogFormat>) -> anyhow::Result<ExitCode> {
    crate::telemetry::init_logging_default(
        log.unwrap_or_default(),
        "warn,scim_bridge::simulated=error,sqlx=error",
    );
    let data = DataDir::prepare(args.data_dir.clone())?;
    let result = run(&args, &data).await;
    data.cleanup();
    result
}

async fn run(args: &DemoArgs, data: &DataDir) -> anyhow::Result<ExitCode> {
    let listener = bind(args.listen).await?;
    let (cfg, tokens) = demo_config(&data.path, listener.local_addr()?)?;
    let store = Store::connect(&cfg.database_url, PoolOptions::default())
        .await
        .with_context(|| {
            format!(
                "opening the demo database in {} (hint: pass another directory with --data-dir DIR)",
                data.path.display()
            )
        })?;
    store.migrate().await.with_context(|| {
        format!(
            "preparing the demo database in {} (hint: use an empty directory with --data-dir DIR)",
            data.path.display()
        )
    })?;
    let app = Application::build_with(cfg, store, listener, BuildOptions::default()).await?;
    let mut out = std::io::stdout();
    print_banner(&app, &tokens, &data.path, &mut out)?;
    writeln!(out)?;
    if data.temporary {
        writeln!(
            out,
            "Data: a fresh temporary directory, removed on exit (the simulators keep their state \
             in memory, so every run starts clean). --data-dir DIR keeps the database."
        )?;
    } else {
        writeln!(out, "Data: {} (kept after exit).", data.path.display())?;
    }
    let code = if args.scenario {
        scenario(&app, &tokens, &mut out).await
    } else {
        Ok(ExitCode::SUCCESS)
    };
    let code = match code {
        Ok(c) => c,
        Err(e) => {
            let _ = app.stop().await;
            return Err(e);
        }
    };
    if args.exit_after_scenario {
        app.stop().await?;
        return Ok(code);
    }
    writeln!(out, "\nServing until ctrl-c.")?;
    let stop = app.shutdown.clone();
    tokio::spawn(async move {
        super::serve::shutdown_signal().await;
        stop.cancel();
    });
    app.wait().await?;
    writeln!(out, "Stopped.")?;
    Ok(code)
}

async fn scenario(
    app: &Application,
    tokens: &DemoTokens,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let report = run_scenario(app, tokens, out).await?;
    writeln!(
        out,
        "Summary: {} Contrast invitation(s) pending, {} member(s) in Contrast's Developers, \
         Carbon Black user {} with {} API key(s) revoked, Abnormal risk level {}.",
        report.contrast_invitations.len(),
        report.contrast_developers.len(),
        if report.carbon_black_deleted {
            "deleted"
        } else {
            "NOT deleted"
        },
        report.revoked_keys.len(),
        report.risk_level.as_deref().unwrap_or("unknown")
    )?;
    let base = format!("http://{}", app.addr);
    writeln!(
        out,
        "Look around: the admin page {base}/admin, or\n  curl -s {base}/admin/v1/mappings -H \
         'Authorization: Bearer {}'",
        tokens.admin
    )?;
    Ok(if report.converged {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
