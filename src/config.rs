//! Typed configuration: a TOML file, then `SCIM_BRIDGE_*` environment variables.
//!
//! Every key is documented in `docs/configuration.md`. Unknown keys and bad values are
//! refused at start with the key's name. Secrets are [`SecretString`]s from here to the
//! header they go in; they can come inline, from `<key>_file`, or from the environment
//! (`SCIM_BRIDGE_TARGETS__<NAME>__<KEY>`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The embedded default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scim-bridge.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A lowercase hex SHA-256 digest (64 hex characters) of a bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenHash(pub [u8; 32]);

impl TryFrom<String> for TokenHash {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bytes = hex::decode(s.trim())
            .map_err(|_| "expected 64 hex characters (a SHA-256 digest)".to_string())?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "expected 64 hex characters (a SHA-256 digest)".to_string())?;
        Ok(Self(arr))
    }
}

impl From<TokenHash> for String {
    fn from(h: TokenHash) -> String {
        hex::encode(h.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Contrast,
    CarbonBlack,
    Abnormal,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Contrast => "contrast",
            TargetKind::CarbonBlack => "carbon_black",
            TargetKind::Abnormal => "abnormal",
        }
    }
}

/// What a group PATCH answers (RFC 7644 §3.5.2 allows either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroupPatchAnswer {
    /// 200 with the group, every member listed.
    #[default]
    Group,
    /// 204 with the new `ETag`: what Entra ID expects, and what a group of 100k members
    /// needs (its 200 is 10 MB per member change).
    NoContent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The whole configuration, as read from file and environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_database_url")]
    pub database_url: SecretString,
    /// Most database connections this process opens (Postgres; SQLite uses at most 8).
    #[serde(default = "default_db_connections")]
    pub database_max_connections: u32,
    /// SHA-256 hashes of admin bearer tokens (admin API and page).
    #[serde(default)]
    pub admin_token_sha256: Vec<TokenHash>,
    #[serde(default)]
    pub log_format: LogFormat,
    /// Public base URL of this server (e.g. `https://scim.corp.example`), used in `meta.location`.
    /// When absent, built from the request's `Host` header.
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Failed authentications per client IP per minute before answering 429 (SCIM and
    /// admin). The peer address is used; `X-Forwarded-For` is not trusted.
    #[serde(default = "default_auth_failures")]
    pub auth_failures_per_minute: u32,
    /// Seconds a client has to send its request headers (slowloris); then it is disconnected.
    #[serde(default = "default_header_timeout")]
    pub header_read_timeout_secs: u64,
    /// Whole-request deadline in seconds (slow bodies get 408).
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Default and hard maximum page size for list and search.
    #[serde(default = "default_page_size")]
    pub default_page_size: u32,
    #[serde(default = "default_max_page_size")]
    pub max_page_size: u32,
    /// Delivery-engine settings shared by every target.
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub targets: BTreeMap<String, TargetConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Worker tasks per process (all targets).
    pub workers: usize,
    /// How long a claimed job stays leased to one worker before another may take it over.
    #[serde(with = "secs")]
    pub lease: Duration,
    /// First retry delay; doubles each attempt, with full jitter.
    #[serde(with = "secs_f")]
    pub retry_base: Duration,
    /// Cap on the retry delay.
    #[serde(with = "secs")]
    pub retry_max: Duration,
    /// Idle poll interval of a worker when the queue is empty.
    #[serde(with = "millis")]
    pub poll_interval: Duration,
    /// Timeout of one vendor HTTP call.
    #[serde(with = "secs")]
    pub vendor_timeout: Duration,
    /// Run delivery workers in this process (`false` for a SCIM-only replica).
    pub enabled: bool,
    /// A retryable failure becomes permanent (`failed`, "gave up") after this many attempts.
    pub max_attempts: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            lease: Duration::from_secs(120),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            poll_interval: Duration::from_millis(250),
            vendor_timeout: Duration::from_secs(30),
            enabled: true,
            max_attempts: 25,
        }
    }
}

/// One `[targets.<name>]` table. Vendor-specific keys are optional here and checked
/// against `kind` by [`Config::validate`]; a key of another kind is refused by name.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub kind: Option<TargetKind>,
    #[serde(default)]
    pub token_sha256: Vec<TokenHash>,
    /// Name of an `abnormal` target whose risk attributes are shown on this target's users.
    pub enrich_from: Option<String>,
    /// Concurrent vendor calls for this target.
    pub max_concurrency: Option<usize>,
    /// Vendor calls per second for this target (adaptive: halves on 429, recovers slowly).
    pub rate_limit_per_sec: Option<f64>,
    /// Periodic reconcile (drift detection), seconds; off when absent.
    pub reconcile_interval: Option<u64>,
    #[serde(default)]
    pub auto_repair: bool,
    /// What a PATCH of a group answers: the group (200) or nothing (204).
    #[serde(default)]
    pub group_patch_answer: GroupPatchAnswer,
    /// Run an in-process vendor simulator for this target and point it there (trying the
    /// bridge without a vendor account; never for production). Credentials are not needed.
    #[serde(default)]
    pub simulate: bool,
    pub base_url: Option<String>,
    pub default_role: Option<String>,
    /// SCIM group displayName -> vendor role (Carbon Black; Contrast role rule).
    #[serde(default)]
    pub group_roles: BTreeMap<String, String>,

    /// Contrast, Carbon Black: seconds a whole user listing answers "not there" to the
    /// look-ups before creates (`connectors::login_index`); 0 lists for every create.
    pub lookup_cache_secs: Option<u64>,

    // Contrast
    pub org_uuid: Option<String>,
    pub username: Option<String>,
    pub service_key: Option<SecretString>,
    pub service_key_file: Option<PathBuf>,
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    pub on_delete: Option<OnDelete>,
    /// SCIM group displayName -> Contrast access group id.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// Contrast: how to deactivate (`user_put` = PUT /users/{id} {"enabled":false} per seed,
    /// `enabled_put` = PUT /users/{id}/enabled per public docs).
    pub disable_method: Option<ContrastDisableMethod>,
    /// Contrast: how to set group members (`users_put` = PUT /groups/{id}/users per seed,
    /// `group_put` = PUT /groups/{id} with the full group body per public docs).
    pub group_members_method: Option<ContrastGroupMethod>,

    // Carbon Black
    pub region: Option<String>,
    pub org_key: Option<String>,
    pub api_id: Option<String>,
    pub api_secret: Option<SecretString>,
    pub api_secret_file: Option<PathBuf>,
    pub update_method: Option<UpdateMethod>,
    pub revoke_api_keys: Option<bool>,
    /// Field of an API key object naming its owner's login (seed names none).
    pub api_key_owner_field: Option<String>,
    /// How to revoke one key: `delete` = DELETE .../apiaccess/key/{id}; `disable` = PUT status DISABLED.
    pub api_key_revoke_method: Option<KeyRevokeMethod>,

    // Abnormal
    pub token: Option<SecretString>,
    pub token_file: Option<PathBuf>,
    /// Seconds between full sweeps of Abnormal accounts.
    pub poll_interval: Option<u64>,
}

/// How long a whole vendor listing answers the look-ups before creates, by default: one
/// listing per 30 s instead of one per new user (docs/performance.md, round 27).
pub const DEFAULT_LOOKUP_CACHE_SECS: u64 = 30;

impl TargetConfig {
    /// `lookup_cache_secs`, or its default.
    pub fn lookup_cache(&self) -> Duration {
        Duration::from_secs(self.lookup_cache_secs.unwrap_or(DEFAULT_LOOKUP_CACHE_SECS))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    Disable,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMethod {
    Patch,
    Put,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContrastDisableMethod {
    UserPut,
    EnabledPut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContrastGroupMethod {
    UsersPut,
    GroupPut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRevokeMethod {
    Delete,
    Disable,
}

fn default_listen() -> SocketAddr {
    // A constant that always parses.
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_db_connections() -> u32 {
    crate::store::PoolOptions::default().max_connections
}

fn default_database_url() -> SecretString {
    SecretString::from(DEFAULT_DATABASE_URL)
}
fn default_max_body() -> usize {
    1024 * 1024
}
fn default_auth_failures() -> u32 {
    30
}
fn default_header_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    30
}
fn default_page_size() -> u32 {
    100
}
fn default_max_page_size() -> u32 {
    1000
}

impl Config {
    /// Reads `file` (when given), then `DATABASE_URL`, `SCIM_BRIDGE_LISTEN` and every other
    /// `SCIM_BRIDGE_<KEY>` (nested keys joined by `__`), then validates.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::new();
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Parse(format!(
                    "config file {} does not exist",
                    f.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(f));
        }
        Self::from_figment(fig)
    }

    /// Parses a TOML string (tests, `config check`), with the same environment overlay.
    pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    fn from_figment(fig: Figment) -> Result<Config, ConfigError> {
        let mut fig = fig.merge(Env::prefixed("SCIM_BRIDGE_").split("__").lowercase(true));
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.is_empty()
        {
            fig = fig.merge(Serialized::default("database_url", url));
        }
        let mut cfg: Config = fig.extract().map_err(|e| {
            let mut msg = e.to_string();
            if !e.path.is_empty() {
                msg = format!("{msg} (at `{}`)", e.path.join("."));
            }
            ConfigError::Parse(msg)
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks cross-key rules and reads `*_file` secrets.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        validate::validate_config(self)
    }

    pub fn target(&self, name: &str) -> Option<&TargetConfig> {
        self.targets.get(name)
    }
}

mod durations;
mod validate;

use durations::{millis, secs, secs_f};
pub use validate::{CARBON_BLACK_REGIONS, carbon_black_region_host};

#[cfg(test)]
mod tests;
