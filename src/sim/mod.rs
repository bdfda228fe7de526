//! Vendor simulators: real HTTP servers that behave like the vendor APIs as their
//! documentation (the seeds in `shared/seeds/`) describes them, with fault injection and a
//! log of every call, for tests, demos and crash/chaos scripts.
//!
//! Each simulator is written from the vendor's documentation with its own types; none of
//! them shares a type with `crate::connectors` (a simulator that did would agree with every
//! connector bug).
//!
//! Every simulator serves its vendor routes plus unauthenticated control routes under
//! `/_sim/`: `GET|DELETE /_sim/calls`, `GET|PUT /_sim/faults`, `PUT /_sim/burst`,
//! `GET /_sim/state`, and vendor-specific ones (see each module).

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The methods every simulator handle has; the handle needs `self.inner.core: Arc<SimCore>`
/// and `fn router(&self) -> axum::Router`.
macro_rules! common_handle_methods {
    () => {
        /// Serve on `127.0.0.1:0`.
        pub async fn start(&self) -> std::io::Result<$crate::sim::SimServer> {
            $crate::sim::serve_local(self.router()).await
        }

        /// Vendor-route calls so far, oldest first.
        pub fn calls(&self) -> Vec<$crate::sim::RecordedCall> {
            self.inner.core.recorder.calls()
        }

        pub fn clear_calls(&self) {
            self.inner.core.recorder.clear();
        }

        pub fn set_faults(&self, f: $crate::sim::Faults) {
            self.inner.core.faults.set(f);
        }

        /// The next `count` vendor requests answer 429.
        pub fn queue_429_burst(&self, count: u32) {
            self.inner.core.faults.queue_burst(count);
        }
    };
}

pub mod abnormal;
pub mod carbon_black;
pub mod contrast;
pub mod faults;
pub mod layer;
pub mod record;
mod util;

#[cfg(test)]
mod tests;

pub use faults::Faults;
pub use record::RecordedCall;

/// How long [`SimServer::shutdown`] waits for open connections before aborting the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running simulator. Dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct SimServer {
    pub addr: SocketAddr,
    token: CancellationToken,
    handle: Option<JoinHandle<()>>,
}

impl SimServer {
    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: stop accepting, let in-flight requests finish (up to a few seconds).
    pub async fn shutdown(mut self) {
        self.token.cancel();
        if let Some(handle) = self.handle.take() {
            let abort = handle.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, handle).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// Serve `router` on an already-bound listener in a background task.
pub async fn serve(
    router: axum::Router,
    listener: tokio::net::TcpListener,
) -> std::io::Result<SimServer> {
    let addr = listener.local_addr()?;
    let token = CancellationToken::new();
    let stop = token.clone().cancelled_owned();
    // Nagle off, as on the bridge's own listener (`http_server.rs`): axum 0.8 leaves it on.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::trace!(error = %e, "simulator: TCP_NODELAY not set");
        }
    });
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!(error = %e, "simulator server stopped with an error");
        }
    });
    Ok(SimServer {
        addr,
        token,
        handle: Some(handle),
    })
}

/// Bind `127.0.0.1:0` and serve `router` there.
pub(crate) async fn serve_local(router: axum::Router) -> std::io::Result<SimServer> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    serve(router, listener).await
}

/// Which simulator, for the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimKind {
    Contrast,
    CarbonBlack,
    Abnormal,
}

/// Entry point for `scim-bridge simulate <kind> --listen ADDR`: builds the simulator with
/// the default credentials, prints them on one line, serves until ctrl-c or SIGTERM.
///
/// `seed_people` pre-populates the vendor: Abnormal gets that many generated accounts
/// (deterministic, seed 42); Contrast and Carbon Black get that many existing, active users
/// `person{i}@example.com` (for reconcile demos: "already at the vendor").
pub async fn run_cli(kind: SimKind, listen: SocketAddr, seed_people: usize) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (router, line) = match kind {
        SimKind::Contrast => {
            let cfg = contrast::ContrastSimConfig::default();
            let sim = contrast::ContrastSim::new(cfg.clone());
            sim.seed_people(seed_people);
            let line = format!(
                "contrast simulator on http://{addr}/Contrast/api/ng org={} username={} service_key={} api_key={}",
                cfg.org_uuid, cfg.username, cfg.service_key, cfg.api_key
            );
            (sim.router(), line)
        }
        SimKind::CarbonBlack => {
            let cfg = carbon_black::CarbonBlackSimConfig::default();
            let sim = carbon_black::CarbonBlackSim::new(cfg.clone());
            sim.seed_people(seed_people);
            let line = format!(
                "carbon_black simulator on http://{addr} org_key={} api_id={} api_secret={}",
                cfg.org_key, cfg.api_id, cfg.api_secret
            );
            (sim.router(), line)
        }
        SimKind::Abnormal => {
            let cfg = abnormal::AbnormalSimConfig::default();
            let line = format!(
                "abnormal simulator on http://{addr} token={} accounts={seed_people}",
                cfg.token
            );
            let sim = abnormal::AbnormalSim::seeded_with(cfg, seed_people, 42);
            (sim.router(), line)
        }
    };
    let server = serve(router, listener).await?;
    println!("{line}");
    wait_for_stop_signal().await;
    server.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; ctrl-c only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
