//! Every TCP connection the bridge opens to Postgres, and every one a vendor simulator
//! accepts, has Nagle's algorithm off (TCP_NODELAY).
//!
//! sqlx 0.9.0 stopped setting it (transact-rs/sqlx#4335, fixed in 0.9.1). With it off, a
//! connection's TLS and start-up messages, written in pieces, each waited for Postgres's
//! delayed ACK: ~40 ms, several times per connection. A CLI command on Postgres took
//! ~220 ms instead of ~40, and `serve` ~240 ms to `/readyz` instead of ~60
//! (docs/performance.md, round 18). The simulators (`sim::serve`, on `axum::serve`, which
//! leaves Nagle on) set it as the bridge's own listener does (round 19). These tests read
//! the option off the sockets themselves, so they fail whatever the timing.

use std::net::SocketAddr;
use std::os::fd::BorrowedFd;

use reqwest::Method;
use scim_bridge::sim::contrast::ContrastSim;
use serde_json::json;

use crate::helpers::*;

/// `(local, peer, nodelay)` of every TCP socket this process holds for which `wanted(local,
/// peer)` is true.
fn tcp_sockets(
    wanted: impl Fn(SocketAddr, SocketAddr) -> bool,
) -> Vec<(SocketAddr, SocketAddr, bool)> {
    let fds = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd (Linux)");
    let mut found = Vec::new();
    for entry in fds.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: the fd is only borrowed for a few getsockopt calls. Another thread may close
        // it meanwhile (the test binary runs tests in parallel); the calls then fail and the
        // fd is skipped, or read a socket that reused the number, which is checked the same.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let sock = socket2::SockRef::from(&fd);
        let addr = |a: std::io::Result<socket2::SockAddr>| a.ok().and_then(|a| a.as_socket());
        let (Some(local), Some(peer)) = (addr(sock.local_addr()), addr(sock.peer_addr())) else {
            continue;
        };
        if wanted(local, peer)
            && let Ok(nodelay) = sock.tcp_nodelay()
        {
            found.push((local, peer, nodelay));
        }
    }
    found
}

/// Fails listing the sockets of `what` with Nagle on; also when there is none at all.
fn assert_nagle_off(what: &str, sockets: &[(SocketAddr, SocketAddr, bool)]) {
    assert!(!sockets.is_empty(), "no {what} found in /proc/self/fd");
    let delayed: Vec<_> = sockets.iter().filter(|(_, _, nodelay)| !nodelay).collect();
    assert!(
        delayed.is_empty(),
        "{} of {} {what} have Nagle on (TCP_NODELAY unset): {delayed:?}",
        delayed.len(),
        sockets.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_to_postgres_have_nagle_off() {
    let admin = url::Url::parse(&pg_admin_url().await).expect("a URL");
    if admin
        .host_str()
        .is_none_or(|h| h.is_empty() || h.starts_with('/'))
    {
        eprintln!("skipped: DATABASE_URL reaches Postgres over a Unix socket, not TCP");
        return;
    }
    let port = admin.port().unwrap_or(5432);
    let app = spawn_app(Backend::Postgres).await;
    // A create and a read: connections of sqlx's pool and of the store's own shelf.
    let (status, user) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "nagle@example.com",
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().expect("id");
    let (status, _) = app
        .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
        .await;
    assert_eq!(status, 200);

    let sockets = tcp_sockets(|_, peer| peer.port() == port);
    assert_nagle_off(&format!("connections to Postgres on port {port}"), &sockets);
}

#[tokio::test]
async fn connections_a_simulator_accepts_have_nagle_off() {
    let server = ContrastSim::default().start().await.expect("simulator");
    let port = server.addr.port();
    // One pooled (kept-alive) connection, open while the sockets are read.
    let client = reqwest::Client::new();
    let status = client
        .get(format!("{}/_sim/calls", server.base_url()))
        .send()
        .await
        .expect("simulator answers")
        .status();
    assert_eq!(status, 200);

    // The simulator's side of it: the accepted socket, whose local port is the listener's.
    let sockets = tcp_sockets(|local, _| local.port() == port);
    assert_nagle_off(
        &format!("connections the simulator on port {port} accepted"),
        &sockets,
    );
    drop(client);
}
