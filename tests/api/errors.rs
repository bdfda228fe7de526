//! Bad input: every client mistake is a 4xx SCIM error, and nothing is written.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    ct: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let r = app
        .client
        .request(method, app.url("t1", path))
        .bearer_auth(&app.tokens["t1"])
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

both!(malformed_and_hostile_input, |b| async move {
    let app = spawn_app(b).await;
    let (s, e) = raw(
        &app,
        Method::POST,
        "/Users",
        "application/scim+json",
        "{\"userName\": ",
    )
    .await;
    assert_scim_error(s, &e, 400, Some("invalidSyntax"));
    let (s, e) = raw(&app, Method::POST, "/Users", "text/plain", "{}").await;
    assert_scim_error(s, &e, 415, None);
    let big = format!("{{\"userName\": \"{}\"}}", "x".repeat(80_000));
    let (s, e) = raw(&app, Method::POST, "/Users", "application/json", big).await;
    assert_scim_error(s, &e, 413, None);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let (s, e) = raw(
        &app,
        Method::POST,
        "/Users",
        "application/json",
        format!("{{\"userName\":\"d@x\",\"x\":{deep}}}"),
    )
    .await;
    assert!(s == 400, "deep nesting: {s} {e}");
    let (s, e) = app.scim_json(Method::POST, "t1", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u@x", "favouriteColour": "red"}))).await;
    assert_scim_error(s, &e, 400, Some("invalidValue"));
    let (s, e) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})),
        )
        .await;
    assert_scim_error(s, &e, 400, None);
    for f in [
        "userName%20eq",
        "userName%20zz%20%22x%22",
        "((((((",
        "nosuch%20eq%20%22x%22",
    ] {
        let (s, e) = app
            .scim_json(Method::GET, "t1", &format!("/Users?filter={f}"), None)
            .await;
        assert_scim_error(s, &e, 400, Some("invalidFilter"));
    }
    let nested = format!("{}userName eq \"x\"{}", "(".repeat(500), ")".repeat(500));
    let (s, e) = app
        .scim_json(
            Method::GET,
            "t1",
            &format!("/Users?filter={}", urlencode(&nested)),
            None,
        )
        .await;
    assert_scim_error(s, &e, 400, Some("invalidFilter"));
    let huge = format!("userName eq \"{}\"", "a".repeat(60_000));
    let (s, _) = app
        .scim_json(
            Method::GET,
            "t1",
            &format!("/Users?filter={}", urlencode(&huge)),
            None,
        )
        .await;
    assert!((400..500).contains(&s), "huge filter: {s}");
    let (s, e) = app
        .scim_json(Method::GET, "t1", "/Users?startIndex=abc", None)
        .await;
    assert_scim_error(s, &e, 400, Some("invalidValue"));
    let (s, e) = app.scim_json(Method::GET, "t1", "/Nope", None).await;
    assert_scim_error(s, &e, 404, None);
    let (s, e) = app.scim_json(Method::DELETE, "t1", "/Users", None).await;
    assert_scim_error(s, &e, 405, None);
    // PATCH mistakes
    let (_, u) = app.scim_json(Method::POST, "t1", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "p@x"}))).await;
    let id = u["id"].as_str().unwrap();
    let patch = |op: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]});
    let (s, e) = app
        .scim_json(
            Method::PATCH,
            "t1",
            &format!("/Users/{id}"),
            Some(patch(json!({"op": "replace", "path": "id", "value": "x"}))),
        )
        .await;
    assert_scim_error(s, &e, 400, Some("mutability"));
    let (s, e) = app
        .scim_json(
            Method::PATCH,
            "t1",
            &format!("/Users/{id}"),
            Some(patch(
                json!({"op": "replace", "path": "emails[type eq", "value": "x"}),
            )),
        )
        .await;
    assert_scim_error(s, &e, 400, Some("invalidPath"));
    let (s, e) = app
        .scim_json(
            Method::PATCH,
            "t1",
            &format!("/Users/{id}"),
            Some(patch(
                json!({"op": "jump", "path": "userName", "value": "x"}),
            )),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    // nothing was written by the rejected requests
    let (_, l) = app.scim_json(Method::GET, "t1", "/Users", None).await;
    assert_eq!(l["totalResults"], 1, "{l}");
    let (_, g) = app
        .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
        .await;
    assert_eq!(g["meta"]["version"], u["meta"]["version"]);
});

both!(discovery_endpoints, |b| async move {
    let app = spawn_app(b).await;
    let (s, spc) = app
        .scim_json(Method::GET, "t1", "/ServiceProviderConfig", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["changePassword"]["supported"], false);
    let (_, rt) = app
        .scim_json(Method::GET, "t1", "/ResourceTypes", None)
        .await;
    assert_eq!(rt["totalResults"], 2);
    let (_, sc) = app.scim_json(Method::GET, "t1", "/Schemas", None).await;
    let ids: Vec<&str> = sc["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:User"),
        "{ids:?}"
    );
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    assert!(
        !ids.contains(&"urn:scim-bridge:schemas:extension:abnormal:2.0:User"),
        "not enriched: {ids:?}"
    );
    let (s, one) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(one["id"], "urn:ietf:params:scim:schemas:core:2.0:Group");
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
});

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
