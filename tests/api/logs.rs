//! What the bridge logs: plain lines when stderr is a file (systemd, Kubernetes, `2> file`),
//! and a server-side failure once, with the request it answered. Also the log capture the
//! other tests use ([`log_buffer`]).

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::both;
use crate::helpers::*;

/// Log lines of the whole test process (a global subscriber, installed once).
pub fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUF: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || BufWriter(w.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(sub);
        buf
    })
    .clone()
}

struct BufWriter(Arc<Mutex<Vec<u8>>>);
impl Write for BufWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts `serve` on an SQLite file with stderr in a file, waits for its startup line on
/// stdout, stops it and returns what it logged.
fn startup_log(dir: &Path, extra_args: &[&str]) -> String {
    let config = dir.join("config.toml");
    let db = dir.join("db.sqlite");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://{}?mode=rwc\"\n",
            db.display()
        ),
    )
    .expect("write config");
    let config_arg = config.display().to_string();
    let (mut child, out_path, err_path) = spawn_to_files(
        Command::new(BIN)
            .args(["serve", "--config", &config_arg])
            .args(extra_args)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .env_remove("DATABASE_URL"),
        dir,
    );
    let start = Instant::now();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    while !read(&out_path).contains("listening on") {
        if start.elapsed() > Duration::from_secs(30) || child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(
        stdout.contains("listening on"),
        "did not start:\n{stdout}\n{stderr}"
    );
    stderr
}

#[test]
fn text_logs_to_a_file_have_no_escape_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = startup_log(dir.path(), &[]);
    let line = log
        .lines()
        .find(|l| l.contains("scim-bridge listening"))
        .unwrap_or_else(|| panic!("no startup line in:\n{log}"));
    assert!(
        line.contains(" INFO ") && line.contains("addr=127.0.0.1:"),
        "{line}"
    );
    assert!(!log.contains('\u{1b}'), "escape codes in:\n{log:?}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = startup_log(dir.path(), &["--log-format", "json"]);
    let startup = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"))
        })
        .find(|v| v["message"] == "scim-bridge listening")
        .unwrap_or_else(|| panic!("no startup line in:\n{log}"));
    assert_eq!(startup["level"], "INFO");
    assert!(
        startup["addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{startup}"
    );
}

both!(
    a_server_failure_is_logged_once_with_its_request,
    |b| async move {
        let logs = log_buffer();
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match b {
            Backend::Postgres => fresh_pg_database().await,
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("bridge.db").display()),
        };
        let mut s = Spawn::new(b);
        s.database_url = Some(url.clone());
        let app = spawn_with(s).await;
        // The store's table gone under the running bridge: every read is an internal error.
        match b {
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&url).await.expect("connect");
                sqlx::raw_sql("DROP TABLE scim_resources CASCADE")
                    .execute(&pool)
                    .await
                    .map(|_| ())
            }
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
                sqlx::raw_sql("DROP TABLE scim_resources")
                    .execute(&pool)
                    .await
                    .map(|_| ())
            }
        }
        .expect("drop the table");

        let id = format!("req-{}", uuid::Uuid::new_v4().simple());
        let path = "/scim/v2/t1/Users/00000000-0000-0000-0000-000000000001";
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&app.tokens["t1"])
            .header("x-request-id", &id)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = r.json().await.expect("json");
        assert_scim_error(500, &body, 500, None);
        assert_eq!(body["detail"], "internal server error", "opaque: {body}");

        let text = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
        // The event's own fields, after its message (the capture also prints the
        // debug-level span in front of it, which the default filter does not).
        let lines: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once(" internal error ").map(|(_, fields)| fields))
            .filter(|fields| fields.contains(&format!("request_id={id}")))
            .collect();
        let about_it: Vec<&str> = text.lines().filter(|l| l.contains(&id)).collect();
        assert_eq!(lines.len(), 1, "logged once: {about_it:#?}");
        assert!(
            lines[0].contains("method=GET")
                && lines[0].contains(&format!("path={path}"))
                && lines[0].contains("scim_resources"),
            "{}",
            lines[0]
        );
    }
);

/// A handler that panics is answered with an opaque SCIM 500 by the real request stack,
/// counted in the request metrics as that 500, and logged once with its request (before,
/// the outer `CatchPanicLayer` answered it: uncounted, and logged without the request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_counted_and_logged_once_with_its_request() {
    use axum::routing::get;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom-7c1f")
    }

    let logs = log_buffer();
    let app = spawn_app(Backend::Sqlite).await;
    let state = app.app.state.clone();
    // The bridge's own layers around a route that panics (no real route panics on input).
    let router = axum::Router::new()
        .route("/scim/v2/{target}/Boom", get(boom))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            scim_bridge::startup::track_metrics,
        ))
        .with_state(state.clone());
    let service = scim_bridge::startup::http_service(router, &state.config, app.app.engine.clone());

    let id = format!("req-{}", uuid::Uuid::new_v4().simple());
    let req = axum::http::Request::get("/scim/v2/t1/Boom")
        .header("x-request-id", &id)
        .body(axum::body::Body::empty())
        .expect("request");
    let resp = service.oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(resp.headers()["x-request-id"], id.as_str());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert_scim_error(500, &body, 500, None);
    assert_eq!(body["detail"], "internal server error", "opaque: {body}");

    let text = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    let about_it: Vec<&str> = text.lines().filter(|l| l.contains(&id)).collect();
    let lines: Vec<&str> = about_it
        .iter()
        .filter_map(|l| l.split_once(" internal error ").map(|(_, fields)| fields))
        .collect();
    assert_eq!(lines.len(), 1, "logged once: {about_it:#?}");
    assert!(
        lines[0].contains("method=GET")
            && lines[0].contains("path=/scim/v2/t1/Boom")
            && lines[0].contains("handler panicked: boom-7c1f"),
        "{}",
        lines[0]
    );
    assert!(
        !text.contains("panicked outside the routes"),
        "answered inside the routes"
    );

    let metrics = app.metrics_text().await;
    let labels = [
        ("target", "t1"),
        ("route", "/scim/v2/{target}/Boom"),
        ("method", "GET"),
        ("status", "500"),
    ];
    assert_eq!(
        crate::metrics::sample(&metrics, "scim_bridge_scim_requests_total", &labels),
        Some(1.0),
        "counted as a 500"
    );
}
