//! Every TCP connection the store opens to Postgres has Nagle's algorithm off (TCP_NODELAY).
//!
//! sqlx 0.9.0 stopped setting it (transact-rs/sqlx#4335, fixed in 0.9.1). With it off, a
//! connection's TLS and start-up messages, written in pieces, each waited for Postgres's
//! delayed ACK: ~40 ms, several times per connection. A CLI command on Postgres took
//! ~220 ms instead of ~40, and `serve` ~240 ms to `/readyz` instead of ~60
//! (docs/performance.md, round 18). This reads the option off the sockets themselves, so
//! it fails whatever the timing.

use std::net::SocketAddr;
use std::os::fd::BorrowedFd;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// `(peer, nodelay)` of every TCP socket this process holds to `port`.
fn tcp_sockets_to(port: u16) -> Vec<(SocketAddr, bool)> {
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
        // SAFETY: the fd is only borrowed for two getsockopt calls. Another thread may close
        // it meanwhile (the test binary runs tests in parallel); the calls then fail and the
        // fd is skipped, or read a socket that reused the number, which is checked the same.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let sock = socket2::SockRef::from(&fd);
        let Some(peer) = sock.peer_addr().ok().and_then(|a| a.as_socket()) else {
            continue;
        };
        if peer.port() == port
            && let Ok(nodelay) = sock.tcp_nodelay()
        {
            found.push((peer, nodelay));
        }
    }
    found
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

    let sockets = tcp_sockets_to(port);
    assert!(
        !sockets.is_empty(),
        "no TCP connection to Postgres on port {port} found in /proc/self/fd"
    );
    let delayed: Vec<_> = sockets.iter().filter(|(_, nodelay)| !nodelay).collect();
    assert!(
        delayed.is_empty(),
        "{} of {} connections to Postgres have Nagle on (TCP_NODELAY unset): {delayed:?}",
        delayed.len(),
        sockets.len()
    );
}
