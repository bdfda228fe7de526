//! Slow clients: a client that holds a connection open without finishing its request is
//! cut off, and the server keeps serving everyone else.

use reqwest::Method;

use crate::helpers::*;

/// Slowloris: a client that dribbles its headers is disconnected after
/// `header_read_timeout_secs` (default 10 s) and the server keeps serving others.
#[tokio::test]
async fn a_client_dribbling_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(Backend::Sqlite).await;
    let mut s = tokio::net::TcpStream::connect(app.app.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let mut closed = false;
    for i in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if s.write_all(format!("X-Drip-{i}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(std::time::Duration::from_millis(10), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                // hyper may answer 408 before closing.
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                assert!(text.starts_with("HTTP/1.1 408"), "{text}");
            }
            Err(_) => {}
        }
    }
    let took = start.elapsed();
    assert!(closed, "still connected after {took:?}");
    assert!(
        took < std::time::Duration::from_secs(15),
        "cut off after {took:?}"
    );
    let (st, _) = app.scim_json(Method::GET, "t1", "/Users", None).await;
    assert_eq!(st, 200, "others are still served");
}
