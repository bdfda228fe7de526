//! The command line. `main` only calls [`main`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::LogFormat;

pub(crate) mod admin_cmds;
mod demo;
mod reconcile;
mod serve;

#[derive(Debug, Parser)]
#[command(
    name = "scim-bridge",
    version,
    about = "SCIM 2.0 bridge: Okta / Entra ID provisioning to vendor REST APIs"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(a: LogFormatArg) -> Self {
        match a {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server. Without --config: uses ./scim-bridge.toml, creating an example one
    /// (SQLite, simulated vendors, generated tokens printed once) when it does not exist.
    Serve {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Apply database migrations and exit (safe to run from several processes at once).
    Migrate {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Configuration checks.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect the mapping table (works while the server runs).
    Mappings {
        #[command(subcommand)]
        command: MappingsCommand,
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
    },
    /// Sync control.
    Sync {
        #[command(subcommand)]
        command: SyncCommand,
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
    },
    /// Run a vendor simulator (for tests, demos, and trying the bridge without an account).
    Simulate {
        #[arg(value_enum)]
        vendor: SimVendor,
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: std::net::SocketAddr,
        /// Pre-populated people (Abnormal accounts; existing users at Contrast / Carbon Black).
        #[arg(long, default_value_t = 0)]
        people: usize,
    },
    /// Try the bridge with no vendor account: SQLite, the three vendor simulators
    /// in-process, fresh tokens, ready-to-paste curl commands.
    Demo(demo::DemoArgs),
    /// Compare a target's vendor accounts with the desired state and repair the drift
    /// (unmanaged accounts are reported, never deleted). Repairs are queued for the server's
    /// workers; `--wait` runs them in this process until the queue is empty.
    Reconcile {
        #[arg(long)]
        target: String,
        /// Print the plan (and mark drift in the mapping table); change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        /// Drive the sync engine here until the queue is empty (when no server runs).
        #[arg(long)]
        wait: bool,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Queue depth and oldest job per target.
    Queue {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SimVendor {
    Contrast,
    CarbonBlack,
    Abnormal,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new random token once, and the line to put in the config.
    Create {
        #[arg(long)]
        target: Option<String>,
        /// An admin token (admin_token_sha256) instead of a target token.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate a config file (and environment overrides); exit 1 on any error.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum MappingsCommand {
    /// List mappings.
    List {
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// One resource's mapping and its sync history, by SCIM id, userName or vendor id.
    Show {
        key: String,
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Retry one resource, or every failed one.
    Retry {
        /// SCIM id, userName or vendor id.
        key: Option<String>,
        #[arg(long)]
        failed: bool,
        #[arg(long)]
        target: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let log_format = cli.log_format.map(LogFormat::from);
    match cli.command {
        Command::Serve { config } => serve::serve(config, log_format).await,
        Command::Migrate { config } => serve::migrate(config, log_format).await,
        Command::Token {
            command: TokenCommand::Create { target, admin },
        } => Ok(admin_cmds::token_create(target, admin)),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => Ok(admin_cmds::config_check(&config)),
        Command::Mappings { command, config } => admin_cmds::mappings(command, config).await,
        Command::Sync { command, config } => admin_cmds::sync(command, config).await,
        Command::Queue { config, json } => admin_cmds::queue(config, json).await,
        Command::Demo(args) => demo::demo(args, log_format).await,
        Command::Reconcile {
            target,
            dry_run,
            json,
            wait,
            config,
        } => {
            reconcile::run(reconcile::Args {
                target,
                dry_run,
                json,
                wait,
                config,
            })
            .await
        }
        Command::Simulate {
            vendor,
            listen,
            people,
        } => {
            crate::telemetry::init_logging(log_format.unwrap_or_default());
            let kind = match vendor {
                SimVendor::Contrast => crate::sim::SimKind::Contrast,
                SimVendor::CarbonBlack => crate::sim::SimKind::CarbonBlack,
                SimVendor::Abnormal => crate::sim::SimKind::Abnormal,
            };
            crate::sim::run_cli(kind, listen, people).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
