//! `scim-bridge demo`: an in-memory config with one simulated target per vendor, fresh
//! tokens, the banner with ready-to-paste `curl` commands, and the scripted scenario
//! ([`scenario::run_scenario`]) that pushes what Okta would and shows what each vendor got.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use secrecy::SecretString;

use crate::config::Config;
use crate::startup::Application;

pub mod scenario;
mod show;

pub use scenario::{ScenarioReport, run_scenario};

/// Target names of the demo, one per vendor.
pub const CONTRAST: &str = "contrast";
pub const CARBON_BLACK: &str = "carbon-black";
pub const ABNORMAL: &str = "abnormal";

/// The file name of the demo's SQLite database inside the data directory.
pub const DB_FILE: &str = "scim-bridge-demo.db";

/// Bearer tokens of a demo run, in clear (they are printed once and only hashed in config).
#[derive(Debug, Clone)]
pub struct DemoTokens {
    pub admin: String,
    /// `(target, token)` in the order the banner shows them.
    pub targets: Vec<(String, String)>,
}

impl DemoTokens {
    pub fn target(&self, name: &str) -> Option<&str> {
        self.targets
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, tok)| tok.as_str())
    }
}

/// The demo configuration: SQLite in `data_dir`, three `simulate = true` targets, fresh tokens.
///
/// `DATABASE_URL` and `SCIM_BRIDGE_LISTEN` from the environment are ignored on purpose: the
/// demo is always embedded SQLite on the address it was given.
pub fn demo_config(data_dir: &Path, listen: SocketAddr) -> anyhow::Result<(Config, DemoTokens)> {
    let (admin, admin_hash) = crate::cli::admin_cmds::new_token();
    let mut text = format!("admin_token_sha256 = [\"{admin_hash}\"]\n");
    let mut targets = Vec::new();
    for (name, kind, extra) in [
        (CONTRAST, "contrast", "default_role = \"ROLE_VIEW\"\n"),
        (
            CARBON_BLACK,
            "carbon_black",
            "default_role = \"READ_ONLY_ANALYST\"\nenrich_from = \"abnormal\"\n",
        ),
        (ABNORMAL, "abnormal", "poll_interval = 60\n"),
    ] {
        let (token, hash) = crate::cli::admin_cmds::new_token();
        targets.push((name.to_string(), token));
        text.push_str(&format!(
            "\n[targets.{name}]\nkind = \"{kind}\"\nsimulate = true\ntoken_sha256 = [\"{hash}\"]\n{extra}"
        ));
    }
    let mut cfg = Config::from_toml_str(&text).map_err(anyhow::Error::msg)?;
    let db = data_dir.join(DB_FILE);
    cfg.database_url = SecretString::from(format!("sqlite://{}", db.display()));
    cfg.listen = listen;
    Ok((cfg, DemoTokens { admin, targets }))
}

/// What is running, each target's SCIM base and token, `curl` commands, the admin API.
pub fn print_banner(
    app: &Application,
    tokens: &DemoTokens,
    data_dir: &Path,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let base = format!("http://{}", app.addr);
    writeln!(out, "scim-bridge demo is running on {base}")?;
    writeln!(
        out,
        "  database:   SQLite, {}",
        data_dir.join(DB_FILE).display()
    )?;
    for (name, server) in &app.simulators.servers {
        writeln!(
            out,
            "  simulator:  {name:<13} {} (in-process, no vendor account needed)",
            server.base_url()
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "SCIM targets (point Okta / Entra or curl here; tokens are shown once):"
    )?;
    for (name, token) in &tokens.targets {
        writeln!(out, "  {name:<13} {base}/scim/v2/{name}")?;
        writeln!(out, "  {:<13} token: {token}", "")?;
    }
    writeln!(
        out,
        "  admin API     {base}/admin/v1   token: {}",
        tokens.admin
    )?;
    writeln!(out, "  admin page    {base}/admin")?;
    writeln!(out)?;
    write_curls(&base, tokens, out)?;
    Ok(())
}

fn write_curls(base: &str, tokens: &DemoTokens, out: &mut impl Write) -> std::io::Result<()> {
    let ct = tokens.target(CONTRAST).unwrap_or("TOKEN");
    let cb = tokens.target(CARBON_BLACK).unwrap_or("TOKEN");
    let user = |name: &str| {
        format!(
            "{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"{name}\",\
             \"name\":{{\"givenName\":\"Jane\",\"familyName\":\"Doe\"}},\
             \"emails\":[{{\"value\":\"{name}\",\"primary\":true}}],\"active\":true}}"
        )
    };
    writeln!(out, "Try it (paste into another terminal):")?;
    writeln!(
        out,
        "  # Create a user on Contrast (becomes an invitation):"
    )?;
    writeln!(
        out,
        "  curl -s -X POST {base}/scim/v2/{CONTRAST}/Users -H 'Authorization: Bearer {ct}' \\\n    \
         -H 'Content-Type: application/scim+json' -d '{}'",
        user("jane@example.com")
    )?;
    writeln!(out, "  # List users:")?;
    writeln!(
        out,
        "  curl -s {base}/scim/v2/{CONTRAST}/Users -H 'Authorization: Bearer {ct}'"
    )?;
    writeln!(out, "  # Filter:")?;
    writeln!(
        out,
        "  curl -s -G {base}/scim/v2/{CONTRAST}/Users -H 'Authorization: Bearer {ct}' \\\n    \
         --data-urlencode 'filter=userName eq \"jane@example.com\"'"
    )?;
    writeln!(
        out,
        "  # A person Abnormal knows (person0..person24@example.com): the response carries\n  \
         # urn:scim-bridge:schemas:extension:abnormal:2.0:User (riskLevel, openCaseCount, ...):"
    )?;
    writeln!(
        out,
        "  curl -s -X POST {base}/scim/v2/{CARBON_BLACK}/Users -H 'Authorization: Bearer {cb}' \\\n    \
         -H 'Content-Type: application/scim+json' -d '{}'",
        user("person7@example.com")
    )?;
    writeln!(
        out,
        "  # The mapping table (what each vendor has, and why):"
    )?;
    writeln!(
        out,
        "  curl -s {base}/admin/v1/mappings -H 'Authorization: Bearer {}'",
        tokens.admin
    )?;
    Ok(())
}
