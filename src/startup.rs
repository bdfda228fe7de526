//! Wiring: `app(state)` builds the router and `http_service` wraps it in the request-wide
//! layers; `Application::build` connects the store, runs migrations, starts workers and
//! pollers, and binds the listener (port 0 in tests).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, TargetKind};
use crate::request_id::HEADER as REQUEST_ID;
use crate::request_metrics::{RequestLabels, method_label};
use crate::scim::error::{ScimError, ServerFailure, error_response};
use crate::state::AppState;
use crate::store::{PoolOptions, Store};
use crate::sync::{Engine, TargetDriver, Targets};

/// The routes, each with the layers that need to know its route: authentication (inside
/// `scim::routes` and `admin`), the admin pages' hardening, and the request metrics
/// (labelled by the matched route). The request-wide layers are in [`http_service`].
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(crate::scim::routes::router(state.clone()))
        .merge(crate::admin::router(state.clone()))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .with_state(state)
}

/// The whole HTTP surface: `router` inside the request-wide layers (outermost first).
///
/// They wrap the router once, as one typed service, rather than through `Router::layer`,
/// which wraps every route in each layer and so costs, per layer and request, a clone of a
/// boxed service and a boxed future (docs/performance.md, round 14, fix 28).
pub fn http_service(
    router: Router,
    config: &Config,
    engine: Arc<Engine>,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static {
    let request_timeout = Duration::from_secs(config.request_timeout_secs.max(1));
    ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(SetSensitiveRequestHeadersLayer::new([axum::http::header::AUTHORIZATION]))
        .map_request(crate::request_id::drop_unless_plain)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            // At debug: a span for every request cost a lookup 3–9 % more CPU at the
            // default filter (round 16); server-side failures are logged with the request's
            // method, path and id by `track_metrics` instead.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = crate::request_id::text(req.headers().get(&REQUEST_ID));
                tracing::debug_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("panicked outside the routes");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, None, "internal server error")
        }))
        .layer(axum::extract::DefaultBodyLimit::max(config.max_body_bytes))
        // A client that dribbles its body (or anything else slow) is cut off with 408.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // The admin reconcile endpoint reaches the connectors through the engine.
        .layer(axum::Extension(engine))
        .service(router)
}

/// No route matched: a SCIM 404, hardened like the admin pages when under `/admin`.
async fn fallback(uri: Uri) -> Response {
    let mut resp = ScimError::not_found("no such endpoint").into_response();
    if uri.path().starts_with("/admin") {
        crate::admin::harden(resp.headers_mut());
    }
    resp
}

async fn healthz() -> impl IntoResponse {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({"status": "ok"})),
    )
}

async fn readyz(State(s): State<AppState>) -> Response {
    let ok = tokio::time::timeout(Duration::from_secs(2), s.store.ping())
        .await
        .unwrap_or(false);
    if ok {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ready"})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "database unreachable"})),
        )
            .into_response()
    }
}

async fn metrics_endpoint(State(s): State<AppState>) -> Response {
    match &s.metrics {
        Some(h) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            h.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are disabled").into_response(),
    }
}

/// Request count and latency by target, route, method and status (no ids, no emails, no
/// client-chosen values in labels: `request_metrics`); and the one log line of a request
/// that failed on the server's side ([`ServerFailure`], a panic included), with its method,
/// path and id. Public so that tests can put it around a route of their own.
pub async fn track_metrics(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    // A configured target's name only: the path segment itself is the client's to choose.
    // Decoded as the router decodes it (`t%31` is served as `t1`, so it is counted as `t1`).
    let segment = req
        .uri()
        .path()
        .strip_prefix("/scim/v2/")
        .and_then(|r| r.split('/').next())
        .and_then(|t| percent_encoding::percent_decode_str(t).decode_utf8().ok());
    let target = segment
        .and_then(|t| s.targets.get_key_value(t.as_ref()))
        .map(|(name, _)| name.as_str())
        .unwrap_or("-");
    let labels = RequestLabels {
        target,
        route: route.as_ref().map_or("unmatched", |p| p.as_str()),
        method: method_label(req.method()),
    };
    // Kept for the log line of a server-side failure (cheap: shared bytes, no copies).
    let method = req.method().clone();
    let uri = req.uri().clone();
    let request_id = req.headers().get(&REQUEST_ID).cloned();
    let start = std::time::Instant::now();
    // A panicking handler is answered here, inside the metrics, so that it is counted as the
    // 500 it is and logged with its request; the outer `CatchPanicLayer` is the backstop for
    // a panic in the request-wide layers.
    let mut resp = match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(payload) => ServerFailure::panicked(payload),
    };
    s.request_metrics
        .record(&labels, resp.status(), start.elapsed());
    if let Some(failure) = resp.extensions_mut().remove::<ServerFailure>() {
        failure.log(
            &method,
            uri.path(),
            crate::request_id::text(request_id.as_ref()),
        );
    }
    resp
}

/// Knobs tests and the demo set.
#[derive(Clone)]
pub struct BuildOptions {
    pub clock: Arc<dyn Clock>,
    /// Start delivery workers and pollers (tests drive the engine by hand when false).
    pub background: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            background: true,
        }
    }
}

/// A running server.
pub struct Application {
    pub addr: SocketAddr,
    pub state: AppState,
    pub engine: Arc<Engine>,
    pub shutdown: CancellationToken,
    /// In-process vendor simulators of `simulate = true` targets.
    pub simulators: crate::simulated::Simulators,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn build(config: Config, opts: BuildOptions) -> anyhow::Result<Application> {
        let store = Store::connect(
            &config.database_url,
            PoolOptions {
                max_connections: config.database_max_connections,
                ..PoolOptions::default()
            },
        )
        .await?;
        store.migrate().await?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        Self::build_with(config, store, listener, opts).await
    }

    /// Builds on an existing store and listener (tests share a database, bind port 0).
    pub async fn build_with(
        mut config: Config,
        store: Store,
        listener: tokio::net::TcpListener,
        opts: BuildOptions,
    ) -> anyhow::Result<Application> {
        let simulators = crate::simulated::attach(&mut config).await?;
        let config = Arc::new(config);
        let targets = Arc::new(Targets::build(&config).map_err(anyhow::Error::msg)?);
        let wake = Arc::new(Notify::new());
        let state = AppState::new(
            config.clone(),
            store.clone(),
            opts.clock.clone(),
            wake.clone(),
            crate::telemetry::metrics_handle(),
        );
        let engine = Arc::new(Engine::new(
            store.clone(),
            targets.clone(),
            opts.clock.clone(),
            config.sync.clone(),
            wake,
        ));
        let shutdown = CancellationToken::new();
        let mut background = Vec::new();
        if opts.background {
            if config.sync.enabled {
                background.extend(engine.spawn(shutdown.clone()));
            }
            for (name, t) in &targets.0 {
                if let (TargetKind::Abnormal, TargetDriver::Enrichment(client)) =
                    (t.kind, &t.driver)
                {
                    let tc = config.targets.get(name);
                    let interval =
                        Duration::from_secs(tc.and_then(|c| c.poll_interval).unwrap_or(900).max(1));
                    let conc = tc.and_then(|c| c.max_concurrency).unwrap_or(4);
                    background.push(tokio::spawn(crate::sync::enrichment::poll_loop(
                        store.clone(),
                        client.clone(),
                        name.clone(),
                        interval,
                        conc,
                        opts.clock.clone(),
                        shutdown.clone(),
                    )));
                }
            }
            background.extend(crate::sync::reconcile::periodic::spawn_all(
                &engine, &config, &shutdown,
            ));
            background.push(tokio::spawn(crate::admin::gauges::refresh_loop(
                store.clone(),
                opts.clock.clone(),
                shutdown.clone(),
            )));
            background.push(tokio::spawn(crate::store::wal_checkpoint::checkpoint_loop(
                store.clone(),
                crate::store::wal_checkpoint::CHECKPOINT_EVERY,
                shutdown.clone(),
            )));
        }
        let addr = listener.local_addr()?;
        let service = http_service(app(state.clone()), &config, engine.clone());
        let stop = shutdown.clone();
        let header_timeout = Duration::from_secs(config.header_read_timeout_secs.max(1));
        let server = tokio::spawn(crate::http_server::serve(
            listener,
            service,
            stop,
            header_timeout,
        ));
        tracing::info!(%addr, "scim-bridge listening");
        Ok(Application {
            addr,
            state,
            engine,
            shutdown,
            simulators,
            server,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits until the server stops (after `shutdown` is cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        let r = self.server.await;
        for b in self.background {
            let _ = tokio::time::timeout(Duration::from_secs(10), b).await;
        }
        self.state.store.close().await;
        r??;
        Ok(())
    }

    /// Stops accepting, lets in-flight requests and jobs finish, closes the pool.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}
