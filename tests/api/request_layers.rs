//! The request-wide layers (`startup::http_service`) wrap every answer, matched or not: a
//! request id (the client's own is echoed), and on `/admin` paths the browser hardening,
//! also where no route matched; a handler that panics gets an opaque SCIM 500.

use serde_json::Value;

use crate::both;
use crate::helpers::*;

const HARDENING: [(&str, &str); 4] = [
    ("content-security-policy", "default-src 'self'"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

both!(
    every_answer_has_a_request_id_and_admin_paths_are_hardened,
    |b| async move {
        let app = spawn_app(b).await;
        let get = |path: &str, id: Option<&str>| {
            let mut r = app
                .client
                .get(format!("{}{path}", app.base))
                .bearer_auth(&app.tokens["t1"]);
            if let Some(id) = id {
                r = r.header("x-request-id", id);
            }
            r.send()
        };
        // Matched, unmatched, under the SCIM router's own fallback, and the health check.
        for (path, status) in [
            ("/scim/v2/t1/Users", 200),
            ("/scim/v2/t1/NoSuchThing", 404),
            ("/no/such/path", 404),
            ("/healthz", 200),
        ] {
            let r = get(path, None).await.unwrap();
            assert_eq!(r.status().as_u16(), status, "{path}");
            let id = r
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok());
            assert_eq!(
                id.map(str::len),
                Some(36),
                "a generated uuid on {path}: {id:?}"
            );
            assert!(
                r.headers().get("x-frame-options").is_none(),
                "{path} is not admin"
            );
            let echoed = get(path, Some("idp-req-42")).await.unwrap();
            assert_eq!(
                echoed
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok()),
                Some("idp-req-42"),
                "{path}"
            );
        }
        // An /admin path no route matches: a SCIM 404, hardened all the same.
        let r = get("/admin/v1/no-such-thing", None).await.unwrap();
        assert_eq!(r.status().as_u16(), 404);
        for (name, want) in HARDENING {
            assert_eq!(
                r.headers().get(name).and_then(|v| v.to_str().ok()),
                Some(want),
                "{name}"
            );
        }
        let body: Value = r.json().await.unwrap();
        assert_scim_error(404, &body, 404, None);
    }
);

both!(
    a_panicking_handler_gets_an_opaque_scim_500,
    |b| async move {
        use tower::ServiceExt;
        let app = spawn_app(b).await;
        // The request-wide layers around a router with a handler that panics.
        let router = axum::Router::new().route(
            "/boom",
            axum::routing::get(|| async {
                if std::hint::black_box(false) {
                    return "not reached";
                }
                panic!("secret detail of the panic")
            }),
        );
        let service = scim_bridge::startup::http_service(
            router,
            &app.app.state.config,
            app.app.engine.clone(),
        );
        let req = axum::http::Request::get("/boom")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = service.oneshot(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), 500);
        assert!(resp.headers().contains_key("x-request-id"));
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_scim_error(500, &body, 500, None);
        assert!(!body.to_string().contains("secret"), "opaque: {body}");
    }
);
