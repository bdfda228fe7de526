//! A list answer shows each resource as `GET /{Users,Groups}/{id}` shows it, and both show
//! it as the tree renderer does. Pages and plain single GETs write stored JSON as stored
//! (`scim/list_body.rs`); a GET with `excludedAttributes` (here of a name no schema has,
//! which the projection ignores) renders a tree. Both stores keep that JSON as different
//! text (Postgres's jsonb, SQLite's serde_json text).

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A single GET: its status, body and `ETag`.
async fn get_one(app: &TestApp, path: &str) -> (u16, Value, String) {
    let r = app.scim(Method::GET, "t1", path, None).await;
    let status = r.status().as_u16();
    let etag = r.headers()["etag"].to_str().unwrap_or_default().to_string();
    let content_type = r.headers()["content-type"].to_str().unwrap_or_default();
    assert_eq!(content_type, "application/scim+json", "{path}");
    let body = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    (status, body, etag)
}

/// Every resource of `GET {list}` against its own GET, written from stored JSON, and a
/// GET rendered as a tree; returns how many there were.
async fn items_match_gets(app: &TestApp, method: Method, list: &str, body: Option<Value>) -> usize {
    let (s, page) = app.scim_json(method, "t1", list, body).await;
    assert_eq!(s, 200, "{page}");
    let items = page["Resources"].as_array().unwrap();
    assert_eq!(page["itemsPerPage"], json!(items.len()), "{page}");
    for item in items {
        let path = format!(
            "/{}/{}",
            item["meta"]["location"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .nth(1)
                .unwrap(),
            item["id"].as_str().unwrap()
        );
        let (s, one, etag) = get_one(app, &path).await;
        assert_eq!(s, 200, "{one}");
        assert_eq!(item, &one, "{list}: {path}");
        let tree_path = format!("{path}?excludedAttributes=noSuchAttribute");
        let (s, tree, tree_etag) = get_one(app, &tree_path).await;
        assert_eq!(s, 200, "{tree}");
        assert_eq!(&one, &tree, "{path}: as stored, and as a tree");
        assert_eq!(etag, tree_etag, "{path}");
        assert_eq!(one["meta"]["version"], json!(etag), "{path}");
    }
    items.len()
}

both!(list_items_are_what_get_shows, |b| async move {
    let app = spawn_app(b).await;
    let plain = app.create_id(
        "t1",
        "/Users",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "plain@corp.example"}),
    )
    .await;
    let full = app
        .create_id(
            "t1",
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
                "userName": "Zoë.\"Q\"@corp.example", "externalId": "00u\\9",
                "name": {"givenName": "Zoë", "familyName": "Ünal", "formatted": "Zoë Ünal"},
                "title": "Head of groups", "active": true,
                "emails": [{"value": "zoe@corp.example", "type": "work", "primary": true}],
                ENT: {"department": "Sales", "manager": {"value": &plain}}
            }),
        )
        .await;
    // A server key's name as a value: this one is rendered as a tree, in the same pages.
    app.create_id(
        "t1",
        "/Users",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "meta@corp.example", "nickName": "meta"}),
    )
    .await;
    app.create_id(
        "t1",
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng",
               "members": [{"value": &plain, "display": "Plain"}, {"value": &full}]}),
    )
    .await;
    app.create_id(
        "t1",
        "/Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Empty"}),
    )
    .await;
    assert_eq!(
        items_match_gets(&app, Method::GET, "/Users?count=100", None).await,
        3
    );
    assert_eq!(
        items_match_gets(&app, Method::GET, "/Groups", None).await,
        2
    );
    // The userName lookup, a filtered page, a page after the first, and `.search`.
    let lookup = "/Users?filter=userName%20eq%20%22plain%40corp.example%22";
    assert_eq!(items_match_gets(&app, Method::GET, lookup, None).await, 1);
    let filtered = "/Users?filter=name.givenName%20sw%20%22Zo%22";
    assert_eq!(items_match_gets(&app, Method::GET, filtered, None).await, 1);
    assert_eq!(
        items_match_gets(&app, Method::GET, "/Users?startIndex=2&count=2", None).await,
        2
    );
    let search =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 10});
    assert_eq!(
        items_match_gets(&app, Method::POST, "/.search", Some(search)).await,
        5
    );
    // Projection still applies to pages.
    let (s, page) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Users?attributes=userName&count=100",
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    for item in page["Resources"].as_array().unwrap() {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "schemas", "userName"], "{item}");
    }
});
