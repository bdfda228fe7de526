//! `serve` and `migrate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::config::{Config, LogFormat};
use crate::startup::{Application, BuildOptions};
use crate::store::{PoolOptions, Store};

/// The config file `serve` uses when none is named.
pub const DEFAULT_CONFIG_FILE: &str = "scim-bridge.toml";

/// Loads the named config, or ./scim-bridge.toml, creating an example one when absent.
pub(crate) fn load_or_create(config: Option<PathBuf>) -> anyhow::Result<Config> {
    if let Some(path) = config {
        return Config::load(Some(&path)).map_err(anyhow::Error::msg);
    }
    let path = Path::new(DEFAULT_CONFIG_FILE);
    if !path.exists() {
        let (text, tokens) = example_config();
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "Created {} (SQLite database, simulated vendors).",
            path.display()
        );
        println!("Bearer tokens, shown once (only their SHA-256 is stored):");
        for (target, token) in &tokens {
            println!("  {target:<14} {token}");
        }
    }
    Config::load(Some(path)).map_err(anyhow::Error::msg)
}

/// An example config with one simulated target per vendor, and its fresh tokens.
pub fn example_config() -> (String, Vec<(String, String)>) {
    let mut tokens = Vec::new();
    let mut text = String::from(
        "# scim-bridge example configuration (docs/configuration.md lists every key).\n\
         # The targets below talk to in-process vendor simulators (`simulate = true`):\n\
         # replace them with real vendor settings for production.\n\
         listen = \"127.0.0.1:8080\"\n\
         database_url = \"sqlite://scim-bridge.db\"\n",
    );
    let (admin, admin_hash) = crate::cli::admin_cmds::new_token();
    tokens.push(("admin".to_string(), admin));
    text.push_str(&format!("admin_token_sha256 = [\"{admin_hash}\"]\n"));
    for (name, kind, extra) in [
        ("contrast", "contrast", "default_role = \"ROLE_VIEW\"\n"),
        (
            "carbon-black",
            "carbon_black",
            "default_role = \"READ_ONLY_ANALYST\"\nenrich_from = \"abnormal\"\n",
        ),
        ("abnormal", "abnormal", "poll_interval = 60\n"),
    ] {
        let (token, hash) = crate::cli::admin_cmds::new_token();
        tokens.push((name.to_string(), token));
        text.push_str(&format!(
            "\n[targets.{name}]\nkind = \"{kind}\"\nsimulate = true\ntoken_sha256 = [\"{hash}\"]\n{extra}"
        ));
    }
    (text, tokens)
}

pub async fn serve(config: Option<PathBuf>, log: Option<LogFormat>) -> anyhow::Result<ExitCode> {
    let cfg = load_or_create(config)?;
    crate::telemetry::init_logging(log.unwrap_or(cfg.log_format));
    let app = Application::build(cfg, BuildOptions::default()).await?;
    println!("scim-bridge listening on http://{}", app.addr);
    for t in app.state.targets.keys() {
        println!(
            "  SCIM base for target {t}: http://{}/scim/v2/{t}",
            app.addr
        );
    }
    let stop = app.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests and jobs");
        stop.cancel();
    });
    app.wait().await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn migrate(config: Option<PathBuf>, log: Option<LogFormat>) -> anyhow::Result<ExitCode> {
    let cfg = match config {
        Some(p) => Config::load(Some(&p)).map_err(anyhow::Error::msg)?,
        None => Config::load(None).map_err(anyhow::Error::msg)?,
    };
    crate::telemetry::init_logging(log.unwrap_or(cfg.log_format));
    let store = Store::connect(&cfg.database_url, PoolOptions::default()).await?;
    store.migrate().await?;
    println!("migrations applied");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
