//! Test harness: `spawn_app(backend)` starts a real server on 127.0.0.1:0 over a fresh
//! database (Postgres from DATABASE_URL or testcontainers; SQLite in a temp dir).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use reqwest::{Client, Method, Response};
use scim_bridge::clock::{Clock, SystemClock};
use scim_bridge::config::Config;
use scim_bridge::startup::{Application, BuildOptions};
use scim_bridge::store::{PoolOptions, Store};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::OnceCell;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The `scim-bridge` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

/// Starts `cmd` with stdout and stderr in `dir/stdout.txt` and `dir/stderr.txt` (files, not
/// pipes, so a process that writes a lot never blocks on a full pipe): the child and the
/// two paths.
pub fn spawn_to_files(cmd: &mut Command, dir: &Path) -> (Child, PathBuf, PathBuf) {
    let out_path = dir.join("stdout.txt");
    let err_path = dir.join("stderr.txt");
    let file = |p: &Path| Stdio::from(std::fs::File::create(p).expect("output file"));
    let child = cmd
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .expect("spawn scim-bridge");
    (child, out_path, err_path)
}

pub struct TestApp {
    pub app: Application,
    pub base: String,
    pub client: Client,
    pub tokens: HashMap<String, String>,
    pub admin_token: String,
    _tmp: Option<tempfile::TempDir>,
}

static PG_ADMIN_URL: OnceCell<String> = OnceCell::const_new();

/// The Postgres server tests create their databases on.
pub async fn pg_admin_url() -> String {
    PG_ADMIN_URL
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("DATABASE_URL")
                && url.starts_with("postgres")
            {
                return url;
            }
            start_container().await
        })
        .await
        .clone()
}

async fn start_container() -> String {
    use testcontainers::runners::AsyncRunner;
    use testcontainers_modules::postgres::Postgres;
    match Postgres::default().start().await {
        Ok(c) => {
            let port = c.get_host_port_ipv4(5432).await.unwrap_or(5432);
            let url = format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres");
            // Keep the container for the whole test process.
            Box::leak(Box::new(c));
            url
        }
        Err(e) => panic!(
            "tests need PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) \
             or make a Docker engine available for testcontainers. Docker failed with: {e}"
        ),
    }
}

/// A fresh, empty Postgres schema on the test server; returns a URL whose connections use it
/// (`options[search_path]=…`). Schemas, unlike databases, are created and dropped without a
/// checkpoint, so hundreds of tests stay fast; `.ci/run` drops leftovers before a run.
pub async fn fresh_pg_database() -> String {
    let admin = pg_admin_url().await;
    let name = format!("scimtest_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test Postgres at DATABASE_URL: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&pool)
        .await
        .expect("create test schema");
    pool.close().await;
    let mut url = url::Url::parse(&admin).expect("DATABASE_URL is a URL");
    url.query_pairs_mut()
        .append_pair("options[search_path]", &name);
    url.to_string()
}

pub fn targets_toml(tokens: &HashMap<String, String>, admin_hash: &str, extra: &str) -> String {
    let h = |t: &str| hex::encode(scim_bridge::state::hash_token(&tokens[t]));
    format!(
        r#"
admin_token_sha256 = ["{admin_hash}"]
max_body_bytes = 65536
[sync]
workers = 2
poll_interval = 20
retry_base = 0.05
retry_max = 1
[targets.t1]
kind = "contrast"
token_sha256 = ["{t1}"]
base_url = "http://127.0.0.1:9/Contrast/api/ng"
org_uuid = "org"
username = "svc@example.com"
service_key = "sk"
api_key = "ak"
[targets.t2]
kind = "contrast"
token_sha256 = ["{t2}", "{t2b}"]
base_url = "http://127.0.0.1:9/Contrast/api/ng"
org_uuid = "org"
username = "svc@example.com"
service_key = "sk"
api_key = "ak"
{extra}
"#,
        t1 = h("t1"),
        t2 = h("t2"),
        t2b = h("t2-rotated"),
    )
}

pub struct Spawn {
    pub backend: Backend,
    /// Extra TOML appended to the config (more targets).
    pub extra_toml: String,
    pub extra_tokens: Vec<String>,
    pub background: bool,
    pub clock: Arc<dyn Clock>,
    /// Reuse this database URL (restart tests).
    pub database_url: Option<String>,
    /// Overrides `auth_failures_per_minute` (tests sending many bad tokens on purpose).
    pub auth_failures_per_minute: Option<u32>,
}

impl Spawn {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            extra_toml: String::new(),
            extra_tokens: vec![],
            background: false,
            clock: Arc::new(SystemClock),
            database_url: None,
            auth_failures_per_minute: None,
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(Spawn::new(backend)).await
}

pub async fn spawn_with(s: Spawn) -> TestApp {
    let mut tokens: HashMap<String, String> = HashMap::new();
    for t in ["t1", "t2", "t2-rotated"]
        .iter()
        .map(|s| s.to_string())
        .chain(s.extra_tokens.iter().cloned())
    {
        tokens.insert(
            t.clone(),
            format!("tok-{t}-{}", uuid::Uuid::new_v4().simple()),
        );
    }
    let admin_token = format!("admin-{}", uuid::Uuid::new_v4().simple());
    let admin_hash = hex::encode(scim_bridge::state::hash_token(&admin_token));
    let mut extra = s.extra_toml.clone();
    for (name, tok) in &tokens {
        extra = extra.replace(
            &format!("{{token:{name}}}"),
            &hex::encode(scim_bridge::state::hash_token(tok)),
        );
    }
    let toml = targets_toml(&tokens, &admin_hash, &extra);
    let mut config =
        Config::from_toml_str(&toml).unwrap_or_else(|e| panic!("test config: {e}\n{toml}"));
    let (url, tmp) = match (s.database_url, s.backend) {
        (Some(u), _) => (u, None),
        (None, Backend::Postgres) => (fresh_pg_database().await, None),
        (None, Backend::Sqlite) => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("bridge.db").display());
            (url, Some(dir))
        }
    };
    config.database_url = SecretString::from(url.clone());
    if let Some(n) = s.auth_failures_per_minute {
        config.auth_failures_per_minute = n;
    }
    let store = Store::connect(&config.database_url, PoolOptions::default())
        .await
        .expect("connect test database");
    store.migrate().await.expect("migrate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = Application::build_with(
        config,
        store,
        listener,
        BuildOptions {
            clock: s.clock,
            background: s.background,
        },
    )
    .await
    .expect("build app");
    let base = format!("http://{}", app.addr);
    TestApp {
        app,
        base,
        client: Client::new(),
        tokens,
        admin_token,
        _tmp: tmp,
    }
}

impl TestApp {
    pub fn url(&self, target: &str, path: &str) -> String {
        format!("{}/scim/v2/{target}{path}", self.base)
    }

    /// A SCIM request with the target's token.
    pub async fn scim(
        &self,
        method: Method,
        target: &str,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        self.scim_if_match(method, target, path, None, body).await
    }

    /// A SCIM request with the target's token and, when given, an `If-Match` header.
    pub async fn scim_if_match(
        &self,
        method: Method,
        target: &str,
        path: &str,
        if_match: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut rb = self
            .client
            .request(method, self.url(target, path))
            .bearer_auth(&self.tokens[target]);
        if let Some(v) = if_match {
            rb = rb.header("if-match", v);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        rb.send().await.expect("request")
    }

    /// POSTs a resource that must be created (201); its id.
    pub async fn create_id(&self, target: &str, path: &str, body: Value) -> String {
        let (st, v) = self.scim_json(Method::POST, target, path, Some(body)).await;
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    pub async fn scim_json(
        &self,
        method: Method,
        target: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let r = self.scim(method, target, path, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A counter's value (process-wide: tests share the recorder), 0 when absent.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics_text().await;
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    }

    /// `sum` and `count` of a summary (process-wide), 0 when absent.
    pub async fn summary(&self, name: &str) -> (f64, f64) {
        let text = self.metrics_text().await;
        let read = |suffix: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{name}_{suffix} ")))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (read("sum"), read("count"))
    }

    pub fn store(&self) -> &Store {
        &self.app.state.store
    }
}

/// Asserts an RFC 7644 error body with the status (and scimType when given).
pub fn assert_scim_error(status: u16, body: &Value, want: u16, scim_type: Option<&str>) {
    assert_eq!(status, want, "status; body: {body}");
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "error schema: {body}"
    );
    assert_eq!(body["status"], want.to_string(), "status string: {body}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], t, "scimType: {body}");
    }
    assert!(body["detail"].is_string(), "detail: {body}");
}

/// Defines a test for each backend: `both!(name, |backend| async { … })`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::helpers::Backend::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::helpers::Backend::Sqlite).await
            }
        }
    };
}
