//! The floor for `bench/floor.sh`: the least an HTTP service in front of Postgres can do to
//! answer `GET …/Users?filter=userName eq "…"`, built from the bridge's own parts (hyper,
//! sqlx with rustls, tokio's default runtime, mimalloc) and nothing else: no router, no
//! middleware, no SCIM filter parser, no JSON tree, no coalescing. Each request takes the
//! quoted value out of the filter, runs pgbench's indexed select (`bench/pgbench/get_filter.sql`)
//! as a prepared statement on a connection of its own, and writes the stored JSON text into a
//! ListResponse envelope.
//!
//!   cargo run --release --example floor -- LISTEN DATABASE_URL TOKEN [CONNS]
//!
//! It is a measuring instrument, not a server to deploy: it answers only that lookup, for the
//! target `contrast` (and `GET /healthz`, so scripts can wait for it). What it shows (docs/performance.md, round 12) is how much of pgbench's
//! rate any lookup over HTTP reaches on the same machine, because every request pays a
//! second loopback hop (client → service → Postgres) where pgbench's client pays one.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sqlx::{Connection, PgConnection, Row};
use tokio::sync::Mutex;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// pgbench's select (`bench/pgbench/get_filter.sql`) with the key as a parameter; `data` as
/// text so it is copied into the answer as it is.
const LOOKUP: &str = "SELECT r.id, r.resource_type, r.data::text AS data, r.version, r.created, \
    r.last_modified FROM scim_resources r \
    WHERE r.target = 'contrast' AND r.resource_type = 'User' AND r.user_name_lc = $1";

struct Floor {
    conns: Vec<Mutex<PgConnection>>,
    next: AtomicUsize,
    auth: HeaderValue,
}

/// The value inside `userName eq "…"` of the query's `filter` parameter, lowercased as the
/// stored `user_name_lc` is.
fn user_name_key(query: &str) -> Option<String> {
    let filter = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("filter"))?
        .1;
    let rest = filter.trim().strip_prefix("userName eq \"")?;
    Some(rest.strip_suffix('"')?.to_lowercase())
}

fn answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    resp
}

async fn lookup(floor: Arc<Floor>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() == "/healthz" {
        return answer(StatusCode::OK, r#"{"status":"ok"}"#.into());
    }
    if req.headers().get(AUTHORIZATION) != Some(&floor.auth) {
        return answer(StatusCode::UNAUTHORIZED, r#"{"status":"401"}"#.into());
    }
    let Some(key) = req.uri().query().and_then(user_name_key) else {
        return answer(
            StatusCode::BAD_REQUEST,
            r#"{"status":"400","detail":"only filter=userName eq \"…\""}"#.into(),
        );
    };
    // Round robin: with fewer requests in flight than connections, each has its own.
    let i = floor.next.fetch_add(1, Ordering::Relaxed) % floor.conns.len();
    let mut conn = floor.conns[i].lock().await;
    let row = sqlx::query(LOOKUP)
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await;
    drop(conn);
    const HEAD: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"#;
    match row.and_then(|r| r.map(|r| r.try_get::<String, _>("data")).transpose()) {
        Ok(Some(data)) => answer(
            StatusCode::OK,
            format!(
                r#"{HEAD}"totalResults":1,"itemsPerPage":1,"startIndex":1,"Resources":[{data}]}}"#
            ),
        ),
        Ok(None) => answer(
            StatusCode::OK,
            format!(r#"{HEAD}"totalResults":0,"itemsPerPage":0,"startIndex":1,"Resources":[]}}"#),
        ),
        Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 3 {
        eprintln!("usage: floor LISTEN DATABASE_URL TOKEN [CONNS]");
        std::process::exit(2);
    }
    let n: usize = a.get(3).and_then(|c| c.parse().ok()).unwrap_or(16).max(1);
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(Mutex::new(PgConnection::connect(&a[1]).await?));
    }
    let floor = Arc::new(Floor {
        conns,
        next: AtomicUsize::new(0),
        auth: HeaderValue::from_str(&format!("Bearer {}", a[2]))?,
    });
    let listener = tokio::net::TcpListener::bind(&a[0]).await?;
    eprintln!("floor listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let floor = floor.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let floor = floor.clone();
                async move { Ok::<_, Infallible>(lookup(floor, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::user_name_key;

    #[test]
    fn takes_the_quoted_user_name_out_of_the_filter() {
        let q = "filter=userName%20eq%20%22Seed7%40example.com%22&count=1";
        assert_eq!(user_name_key(q).as_deref(), Some("seed7@example.com"));
        assert_eq!(user_name_key("filter=displayName%20eq%20%22x%22"), None);
        assert_eq!(user_name_key("count=1"), None);
    }
}
