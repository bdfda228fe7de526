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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{Mutex, Semaphore};

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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.conns)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let total = (a.rate * a.seconds).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / a.rate);
    // Bounded in-flight requests: past this the generator records the wait as latency.
    let slots = Arc::new(Semaphore::new(a.conns));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(AtomicU64::new(0));
    let run = std::process::id();
    let start = Instant::now() + Duration::from_millis(50);
    // The pacer is a thread of its own: tokio's timer fires on 1 ms ticks, which at 10k
    // requests/s sent them in bursts up to 1 ms late, and that lateness (the generator's, not
    // the server's) was counted from the due time. A thread sleep is late by the kernel's
    // timer slack (~50 µs). Lateness caused by the server (all connections busy) still counts:
    // a request waits for a connection after it was due.
    let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
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
    let mut tasks = Vec::with_capacity(total as usize);
    while let Some((i, due)) = due_rx.recv().await {
        let permit = match slots.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => break,
        };
        let req = match a.workload.as_str() {
            "post" => client
                .post(format!("{}/Users", a.url))
                .header("content-type", "application/scim+json")
                .body(format!(
                    r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fr-{run}-{i}@example.com","name":{{"givenName":"F","familyName":"R"}},"emails":[{{"value":"fr-{run}-{i}@example.com","primary":true}}]}}"#
                )),
            _ => {
                let k = rand::rng().random_range(1..=a.users.max(1));
                client.get(format!(
                    "{}/Users?filter=userName%20eq%20%22seed{k}%40example.com%22",
                    a.url
                ))
            }
        }
        .bearer_auth(&a.token);
        let (lat, err) = (latencies.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let ok = match req.send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            let ms = due.elapsed().as_secs_f64() * 1000.0;
            if ok {
                lat.lock().await.push(ms);
            } else {
                err.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut l = latencies.lock().await.clone();
    l.sort_by(f64::total_cmp);
    println!(
        "FIXED_RATE sent={total} ok={} errors={} rate={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        l.len(),
        errors.load(Ordering::Relaxed),
        l.len() as f64 / elapsed,
        percentile(&l, 50.0),
        percentile(&l, 90.0),
        percentile(&l, 99.0),
        l.last().copied().unwrap_or(f64::NAN),
    );
    if errors.load(Ordering::Relaxed) > 0 {
        std::process::exit(1);
    }
}
