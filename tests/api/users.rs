//! Users: the Okta and Entra request sequences from shared/idp-notes.md.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

fn jane(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Jane Doe",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "password": "Secret-123",
        "active": true
    })
}

both!(okta_create_read_filter_update_deactivate, |b| async move {
    let app = spawn_app(b).await;
    // Test connection.
    let (s, list) = app
        .scim_json(Method::GET, "t1", "/Users?startIndex=1&count=2", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["Resources"], json!([]));
    assert_eq!(list["startIndex"], 1);
    assert_eq!(list["itemsPerPage"], 0);
    // Create after a filter that finds nothing.
    let (s, found) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Users?filter=userName%20eq%20%22jane%40corp.example%22",
            None,
        )
        .await;
    assert_eq!((s, found["totalResults"].clone()), (200, json!(0)));
    let r = app
        .scim(
            Method::POST,
            "t1",
            "/Users",
            Some(jane("jane@corp.example")),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_ne!(
        id, "jane@corp.example",
        "id must be opaque, never the userName"
    );
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(location, format!("{}/Users/{id}", app.url("t1", "")));
    assert_eq!(created["meta"]["location"], location);
    assert_eq!(created["meta"]["version"], etag);
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["externalId"], "00u1abcd");
    assert!(
        created.get("password").is_none(),
        "password is never returned"
    );
    // Fetch by id; filter with another case.
    let (s, got) = app
        .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(got["userName"], "jane@corp.example");
    let (_, f) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Users?filter=userName%20eq%20%22JANE%40Corp.Example%22",
            None,
        )
        .await;
    assert_eq!(
        f["totalResults"], 1,
        "userName filter is case-insensitive: {f}"
    );
    assert_eq!(f["Resources"][0]["id"], id);
    let (_, f) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Users?filter=externalId%20eq%20%2200u1abcd%22",
            None,
        )
        .await;
    assert_eq!(f["totalResults"], 1);
    // Duplicate, differently cased.
    let (s, e) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(jane("Jane@corp.example")),
        )
        .await;
    assert_scim_error(s, &e, 409, Some("uniqueness"));
    // PUT the whole object.
    let mut put = got.clone();
    put["name"]["familyName"] = json!("Smith");
    let (s, updated) = app
        .scim_json(Method::PUT, "t1", &format!("/Users/{id}"), Some(put))
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["name"]["familyName"], "Smith");
    assert_ne!(updated["meta"]["version"], etag);
    // Deactivate, Okta OIN style (path-less replace).
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (s, p) = app
        .scim_json(Method::PATCH, "t1", &format!("/Users/{id}"), Some(patch))
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["active"], false);
    // Random id: 404 with a SCIM body.
    let (s, e) = app
        .scim_json(
            Method::GET,
            "t1",
            &format!("/Users/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_scim_error(s, &e, 404, None);
});

both!(
    entra_string_booleans_dotted_keys_manager_and_delete,
    |b| async move {
        let app = spawn_app(b).await;
        let (s, u) = app.scim_json(Method::POST, "t1", "/Users", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "e-1", "userName": "ENTRA@corp.example", "active": "True",
        "emails": [{"primary": true, "type": "work", "value": "entra@corp.example"}],
        "name": {"givenName": "En", "familyName": "Tra"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "IT"}
    }))).await;
        assert_eq!(s, 201, "{u}");
        assert_eq!(u["active"], true);
        let id = u["id"].as_str().unwrap();
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "value": {"name.givenName": "Enid", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"}},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "enid@corp.example"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "mgr-1"}
        ]});
        let (s, p) = app
            .scim_json(Method::PATCH, "t1", &format!("/Users/{id}"), Some(patch))
            .await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(p["active"], false);
        assert_eq!(p["name"]["givenName"], "Enid");
        let ent = &p["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
        assert_eq!(ent["department"], "Sales");
        assert_eq!(ent["manager"]["value"], "mgr-1");
        assert_eq!(p["emails"][0]["value"], "enid@corp.example");
        // Manager removal with an empty value.
        let (s, p) = app.scim_json(Method::PATCH, "t1", &format!("/Users/{id}"), Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": ""}}]
    }))).await;
        assert_eq!(s, 200, "{p}");
        assert!(
            p["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
                .get("manager")
                .is_none(),
            "{p}"
        );
        // Hard delete, then 404.
        let r = app
            .scim(Method::DELETE, "t1", &format!("/Users/{id}"), None)
            .await;
        assert_eq!(r.status(), 204);
        let (s, e) = app
            .scim_json(Method::GET, "t1", &format!("/Users/{id}"), None)
            .await;
        assert_scim_error(s, &e, 404, None);
    }
);

both!(paging_sorting_and_projection, |b| async move {
    let app = spawn_app(b).await;
    for i in 0..7 {
        let (s, _) = app
            .scim_json(
                Method::POST,
                "t1",
                "/Users",
                Some(jane(&format!("user{i}@corp.example"))),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (_, p) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Users?startIndex=3&count=2&sortBy=userName&sortOrder=descending",
            None,
        )
        .await;
    assert_eq!(p["totalResults"], 7);
    assert_eq!(p["startIndex"], 3);
    assert_eq!(p["itemsPerPage"], 2);
    assert_eq!(p["Resources"][0]["userName"], "user4@corp.example");
    let (_, p) = app
        .scim_json(Method::GET, "t1", "/Users?count=0", None)
        .await;
    assert_eq!(
        (p["totalResults"].clone(), p["itemsPerPage"].clone()),
        (json!(7), json!(0))
    );
    let (_, p) = app
        .scim_json(Method::GET, "t1", "/Users?count=100000", None)
        .await;
    assert_eq!(p["itemsPerPage"], 7);
    let (_, p) = app
        .scim_json(
            Method::GET,
            "t1",
            "/Users?attributes=userName&count=1",
            None,
        )
        .await;
    let u = &p["Resources"][0];
    assert!(u.get("userName").is_some() && u.get("id").is_some());
    assert!(
        u.get("name").is_none(),
        "attributes=userName drops name: {u}"
    );
    let (_, p) = app.scim_json(Method::GET, "t1", "/Users?filter=name.familyName%20sw%20%22do%22%20and%20emails%5Btype%20eq%20%22work%22%5D&count=3", None).await;
    assert_eq!(p["totalResults"], 7, "{p}");
});

both!(targets_are_isolated_and_tokens_rotate, |b| async move {
    let app = spawn_app(b).await;
    let (s, u) = app
        .scim_json(Method::POST, "t1", "/Users", Some(jane("iso@corp.example")))
        .await;
    assert_eq!(s, 201);
    let id = u["id"].as_str().unwrap();
    // t1's token on t2: 401.
    let r = app
        .client
        .get(app.url("t2", "/Users"))
        .bearer_auth(&app.tokens["t1"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // t2 cannot see t1's user.
    let (s, e) = app
        .scim_json(Method::GET, "t2", &format!("/Users/{id}"), None)
        .await;
    assert_scim_error(s, &e, 404, None);
    let (_, l) = app.scim_json(Method::GET, "t2", "/Users", None).await;
    assert_eq!(l["totalResults"], 0);
    // The same userName may exist in another target.
    let (s, _) = app
        .scim_json(Method::POST, "t2", "/Users", Some(jane("iso@corp.example")))
        .await;
    assert_eq!(s, 201);
    // Either of t2's tokens works (rotation).
    let r = app
        .client
        .get(app.url("t2", "/Users"))
        .bearer_auth(&app.tokens["t2-rotated"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // No token, unknown target: 401 with a SCIM body.
    let r = app
        .client
        .get(app.url("t1", "/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_scim_error(401, &body, 401, None);
    let r = app
        .client
        .get(app.url("nope", "/Users"))
        .bearer_auth(&app.tokens["t1"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The target segment is percent-decoded (`t%31` is t1); one that does not decode to
    // UTF-8 names no target: 401 with a SCIM body, not the router's plain-text 400.
    for (segment, want) in [("t%31", 200), ("%FF", 401)] {
        let r = app
            .client
            .get(app.url(segment, "/Users"))
            .bearer_auth(&app.tokens["t1"])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{segment}");
        if want == 401 {
            let body: Value = r.json().await.unwrap();
            assert_scim_error(401, &body, 401, None);
        }
    }
});

both!(etags_and_if_match, |b| async move {
    let app = spawn_app(b).await;
    let (_, u) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(jane("etag@corp.example")),
        )
        .await;
    let id = u["id"].as_str().unwrap();
    let v = u["meta"]["version"].as_str().unwrap().to_string();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "X"}]});
    let path = format!("/Users/{id}");
    let r = app
        .scim_if_match(
            Method::PATCH,
            "t1",
            &path,
            Some("W/\"999\""),
            Some(patch.clone()),
        )
        .await;
    assert_eq!(r.status(), 412);
    let r = app
        .scim_if_match(Method::PATCH, "t1", &path, Some(&v), Some(patch))
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .scim_if_match(Method::DELETE, "t1", &path, Some(&v), None)
        .await;
    assert_eq!(r.status(), 412, "old version no longer matches");
});

both!(
    extension_objects_may_carry_their_own_schemas,
    |b| async move {
        // scim2-models serialises an extension object with its own `schemas` key.
        let app = spawn_app(b).await;
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let mut body = jane("ext@corp.example");
        body[ent] = json!({"schemas": [ent], "department": "R&D"});
        body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ent]);
        let (s, u) = app
            .scim_json(Method::POST, "t1", "/Users", Some(body))
            .await;
        assert_eq!(s, 201, "{u}");
        assert_eq!(u[ent]["department"], "R&D");
        let id = u["id"].as_str().unwrap();
        let (s, p) = app.scim_json(Method::PATCH, "t1", &format!("/Users/{id}"), Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": ent, "value": {"schemas": [ent], "costCenter": "42"}}]}))).await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(p[ent]["costCenter"], "42");
    }
);
