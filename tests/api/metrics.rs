//! `/metrics` after real traffic: the series operators alert on, and no secret or email.

use reqwest::Method;
use scim_bridge::sim::contrast::ContrastSim;

use crate::both;
use crate::delivery::{contrast_toml, drain, user_body};
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_requests_queue_vendor_calls_and_mappings_without_secrets() {
    let sim = ContrastSim::default();
    let server = sim.start().await.unwrap();
    let mut s = Spawn::new(Backend::Sqlite);
    s.extra_tokens = vec!["c".into()];
    s.extra_toml = contrast_toml("c", &server.base_url(), "");
    let app = spawn_with(s).await;
    for i in 0..3 {
        let (st, _) = app
            .scim_json(
                Method::POST,
                "c",
                "/Users",
                Some(user_body(&format!("m{i}@corp.example"))),
            )
            .await;
        assert_eq!(st, 201);
    }
    app.scim_json(
        Method::POST,
        "c",
        "/Users",
        Some(user_body("pending@corp.example")),
    )
    .await;
    drain(&app).await;
    app.scim_json(
        Method::POST,
        "c",
        "/Users",
        Some(user_body("queued@corp.example")),
    )
    .await;
    scim_bridge::admin::gauges::Gauges::default()
        .refresh(app.store(), &scim_bridge::clock::SystemClock)
        .await;
    let body = app.metrics_text().await;
    for series in [
        "scim_bridge_scim_requests_total",
        "scim_bridge_scim_request_duration_seconds_bucket",
        "scim_bridge_queue_depth",
        "scim_bridge_queue_oldest_job_age_seconds",
        "scim_bridge_vendor_calls_total",
        "scim_bridge_vendor_call_duration_seconds_bucket",
        "scim_bridge_sync_jobs_total",
        "scim_bridge_mappings",
    ] {
        assert!(body.contains(series), "{series} missing from /metrics");
    }
    assert!(
        body.contains("route=\"/scim/v2/{target}/Users\""),
        "routes are templates, not paths"
    );
    for secret in [
        "svc-key",
        "api-key",
        "@corp.example",
        &app.tokens["c"],
        &app.admin_token,
    ] {
        assert!(!body.contains(secret), "{secret} leaked into /metrics");
    }
    server.shutdown().await;
}

/// The value of the series `name` with these labels (and no others) in a Prometheus text page.
pub fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines().find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let inside = series
            .strip_prefix(name)?
            .strip_prefix('{')?
            .strip_suffix('}')?;
        let mut got: Vec<&str> = inside.split(',').collect();
        let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        got.sort_unstable();
        want.sort_unstable();
        (got == want).then(|| value.parse().ok())?
    })
}

both!(
    a_drained_queue_reads_zero_not_its_last_depth,
    |b| async move {
        let sim = ContrastSim::default();
        let server = sim.start().await.unwrap();
        // A target name of its own: the recorder is shared by every test in the process.
        let target = match b {
            Backend::Postgres => "gaugepg",
            Backend::Sqlite => "gaugelite",
        };
        let mut s = Spawn::new(b);
        s.extra_tokens = vec![target.into()];
        s.extra_toml = contrast_toml(target, &server.base_url(), "");
        let app = spawn_with(s).await;
        for i in 0..2 {
            let (st, _) = app
                .scim_json(
                    Method::POST,
                    target,
                    "/Users",
                    Some(user_body(&format!("g{i}@corp.example"))),
                )
                .await;
            assert_eq!(st, 201);
        }
        let clock = scim_bridge::clock::SystemClock;
        let mut gauges = scim_bridge::admin::gauges::Gauges::default();
        gauges.refresh(app.store(), &clock).await;
        let body = app.metrics_text().await;
        let depth = |body: &str| sample(body, "scim_bridge_queue_depth", &[("target", target)]);
        let mappings = |body: &str, state: &str| {
            sample(
                body,
                "scim_bridge_mappings",
                &[("target", target), ("state", state)],
            )
        };
        assert_eq!(depth(&body), Some(2.0), "{body}");
        assert_eq!(mappings(&body, "pending"), Some(2.0), "{body}");

        drain(&app).await;
        gauges.refresh(app.store(), &clock).await;
        let body = app.metrics_text().await;
        assert_eq!(depth(&body), Some(0.0), "drained: {body}");
        assert_eq!(
            mappings(&body, "pending"),
            Some(0.0),
            "none pending: {body}"
        );
        assert_eq!(mappings(&body, "synced"), Some(2.0), "{body}");
        server.shutdown().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_migrating_at_once_apply_each_migration_once() {
    use scim_bridge::store::{PoolOptions, Store};
    use secrecy::SecretString;
    let url = SecretString::from(fresh_pg_database().await);
    let a = Store::connect(&url, PoolOptions::default()).await.unwrap();
    let b = Store::connect(&url, PoolOptions::default()).await.unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.expect("first migrator");
    rb.expect("second migrator");
    let pool = sqlx::PgPool::connect(secrecy::ExposeSecret::expose_secret(&url))
        .await
        .unwrap();
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT version FROM _sqlx_migrations")
        .fetch_all(&pool)
        .await
        .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(rows.len(), files, "each migration recorded once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_cannot_mint_metric_label_values() {
    let mut s = Spawn::new(Backend::Sqlite);
    s.auth_failures_per_minute = Some(1);
    let app = spawn_with(s).await;
    // Unknown targets: 401, then 429 once this IP has failed too often.
    let mut statuses = Vec::new();
    for i in 0..3 {
        let r = app
            .client
            .get(app.url(&format!("zzminted-target-{i}"), "/Users"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "the limiter answered {statuses:?}");
    // A method of the client's own naming on a real route and target.
    let odd = reqwest::Method::from_bytes(b"ZZMINTEDMETHOD").unwrap();
    let r = app.scim(odd, "t1", "/Users", None).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let (st, _) = app.scim_json(Method::GET, "t1", "/Users", None).await;
    assert_eq!(st, 200);
    let body = app.metrics_text().await;
    assert!(
        !body.to_lowercase().contains("zzminted"),
        "a client-chosen target or method became a label value"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("scim_bridge_scim_requests_total")
                && l.contains("target=\"t1\"")
                && l.contains("method=\"OTHER\"")),
        "the odd method is counted under OTHER for its real target"
    );
}

/// The router decodes the target segment (`pct%31` is target `pct1`), and so does its label:
/// a served request is counted under its target's name, never under `-`.
///
/// The recorder is shared by every test in the process, and other tests' requests for unknown
/// targets are counted under `-` on the same route, so the `-` series cannot be asserted
/// absent. A target name of its own, whose series holds exactly this one request, shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percent_encoded_target_is_counted_under_its_name() {
    let mut s = Spawn::new(Backend::Sqlite);
    s.extra_tokens = vec!["pct1".into()];
    s.extra_toml = contrast_toml("pct1", "http://127.0.0.1:9", "");
    let app = spawn_with(s).await;
    let r = app
        .client
        .get(app.url("pct%31", "/Users"))
        .bearer_auth(&app.tokens["pct1"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "served as pct1");
    let body = app.metrics_text().await;
    let labels = [
        ("target", "pct1"),
        ("route", "/scim/v2/{target}/Users"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(
        sample(&body, "scim_bridge_scim_requests_total", &labels),
        Some(1.0),
        "the one request is counted once, under pct1:\n{body}"
    );
}
