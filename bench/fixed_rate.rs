//! Open-loop load generator for `bench/run.sh`: sends requests at a fixed rate whatever the
//! server does, and measures each latency from the moment the request was *due*, so a
//! stall shows up in the percentiles instead of silently slowing the sender (wrk is
//! closed-loop; wrk2 is not packaged for Debian).
//!
//!   cargo run --release --example fixed_rate -- URL TOKEN WORKLOAD RATE SECONDS USERS [CONNS]
//!
//! WORKLOAD: `get_filter` (GET /Users?filter=userName eq "seed<k>@example.com", k random in
//! 1..=USERS) or `post` (POST /Users, unique userNames). Prints one line:
//! `FIXED_RATE sent=… ok=… errors=… rate=… p50_ms=… p90_ms=… p99_ms=… max_ms=…`.
//!
//! The generator shares the machine with the bridge and Postgres, so its own cost per
//! request is part of what it measures: CONNS keep-alive HTTP/1.1 connections (hyper's
//! client connection, no pool, no per-request task) take due requests from one queue.
//! The first version (reqwest, a task per request) spent 77–79 µs of CPU per request at 6k
//! requests/s, this one 53–54, and the difference showed in the p99 it reported for the
//! same bridge: 10.9–12.1 ms against 2.9–3.3 ms (docs/performance.md, fix 21).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::sync::Mutex;

struct Args {
    url: String,
    token: String,
    workload: String,
    rate: f64,
    seconds: f64,
    users: u64,
    conns: usize,
}

fn args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 6 {
        return Err("usage: fixed_rate URL TOKEN WORKLOAD RATE SECONDS USERS [CONNS]".into());
    }
    let num = |i: usize, name: &str| -> Result<f64, String> {
        a[i].parse::<f64>()
            .ok()
            .filter(|v| *v > 0.0)
            .ok_or(format!("{name} must be a positive number, got `{}`", a[i]))
    };
    Ok(Args {
        url: a[0].trim_end_matches('/').to_string(),
        token: a[1].clone(),
        workload: a[2].clone(),
        rate: num(3, "RATE")?,
        seconds: num(4, "SECONDS")?,
        users: num(5, "USERS")? as u64,
        conns: a.get(6).and_then(|c| c.parse().ok()).unwrap_or(64),
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// What one connection needs to send requests: host, path prefix and the token's header.
struct Target {
    addr: String,
    host: HeaderValue,
    prefix: String,
    auth: HeaderValue,
}

fn target(url: &str, token: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or(format!("URL must be http://host:port/…, got `{url}`"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok(Target {
        addr: authority.to_string(),
        host: HeaderValue::from_str(authority).map_err(|e| format!("host: {e}"))?,
        prefix: format!("/{path}"),
        auth: HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| format!("token: {e}"))?,
    })
}

fn request(t: &Target, workload: &str, users: u64, run: u32, i: u64) -> Request<Full<Bytes>> {
    let (method, path, body) = match workload {
        "post" => (
            Method::POST,
            format!("{}/Users", t.prefix),
            format!(
                r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fr-{run}-{i}@example.com","name":{{"givenName":"F","familyName":"R"}},"emails":[{{"value":"fr-{run}-{i}@example.com","primary":true}}]}}"#
            ),
        ),
        _ => {
            let k = rand::rng().random_range(1..=users.max(1));
            (
                Method::GET,
                format!(
                    "{}/Users?filter=userName%20eq%20%22seed{k}%40example.com%22",
                    t.prefix
                ),
                String::new(),
            )
        }
    };
    let mut req = Request::new(Full::new(Bytes::from(body)));
    *req.method_mut() = method;
    if let Ok(uri) = path.parse() {
        *req.uri_mut() = uri;
    }
    let h = req.headers_mut();
    h.insert(HOST, t.host.clone());
    h.insert(AUTHORIZATION, t.auth.clone());
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    req
}

/// A request not answered within this counts as an error (and its connection is reopened).
const TIMEOUT: Duration = Duration::from_secs(10);

type DueQueue = Arc<Mutex<tokio::sync::mpsc::UnboundedReceiver<(u64, Instant)>>>;

/// One keep-alive connection: takes the next due request, sends it, records the latency from
/// its due time. Returns (latencies in ms, errors). A broken connection is reopened.
async fn connection(t: Arc<Target>, a: Arc<Args>, queue: DueQueue, run: u32) -> (Vec<f64>, u64) {
    let (mut lat, mut errors) = (Vec::new(), 0u64);
    let mut conn: Option<http1::SendRequest<Full<Bytes>>> = None;
    loop {
        let next = queue.lock().await.recv().await;
        let Some((i, due)) = next else { break };
        if conn.as_ref().is_none_or(|c| c.is_closed()) {
            conn = open(&t.addr).await;
        }
        let ok = match conn.as_mut() {
            Some(c) => {
                let exchange = async {
                    c.ready().await?;
                    let r = c
                        .send_request(request(&t, &a.workload, a.users, run, i))
                        .await?;
                    let status = r.status();
                    r.into_body().collect().await?;
                    Ok::<bool, hyper::Error>(status.is_success())
                };
                matches!(tokio::time::timeout(TIMEOUT, exchange).await, Ok(Ok(true)))
            }
            None => false,
        };
        if ok {
            lat.push(due.elapsed().as_secs_f64() * 1000.0);
        } else {
            errors += 1;
            conn = None;
        }
    }
    (lat, errors)
}

async fn open(addr: &str) -> Option<http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (send, driver) = http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(driver);
    Some(send)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = match args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let t = match target(&a.url, &a.token) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let total = (a.rate * a.seconds).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / a.rate);
    let run = std::process::id();
    let start = Instant::now() + Duration::from_millis(50);
    // The pacer is a thread of its own: tokio's timer fires on 1 ms ticks, which at 10k
    // requests/s sent them in bursts up to 1 ms late, and that lateness (the generator's, not
    // the server's) was counted from the due time. A thread sleep is late by the kernel's
    // timer slack (~50 µs). Lateness caused by the server (all connections busy) still counts:
    // a request waits in the queue for a connection after it was due.
    let (due_tx, due_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    std::thread::spawn(move || {
        for i in 0..total {
            let due = start + interval.mul_f64(i as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if due_tx.send((i, due)).is_err() {
                break;
            }
        }
    });
    let queue: DueQueue = Arc::new(Mutex::new(due_rx));
    let conns: Vec<_> = (0..a.conns.max(1))
        .map(|_| tokio::spawn(connection(t.clone(), a.clone(), queue.clone(), run)))
        .collect();
    let (mut l, mut errors) = (Vec::with_capacity(total as usize), 0u64);
    for c in conns {
        if let Ok((lat, err)) = c.await {
            l.extend(lat);
            errors += err;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    l.sort_by(f64::total_cmp);
    println!(
        "FIXED_RATE sent={total} ok={} errors={errors} rate={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        l.len(),
        l.len() as f64 / elapsed,
        percentile(&l, 50.0),
        percentile(&l, 90.0),
        percentile(&l, 99.0),
        l.last().copied().unwrap_or(f64::NAN),
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
