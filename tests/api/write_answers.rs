//! `attributes` / `excludedAttributes` on the answers of POST, PUT and PATCH (RFC 7644
//! §3.9): the answer is projected as a GET's would be; a 201 keeps its `Location` even when
//! `meta` is not shown; a group's answer without `members` does not list them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

both!(
    write_answers_follow_the_requested_projection,
    |b| async move {
        let app = spawn_app(b).await;
        let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": "proj@corp.example", "displayName": "Proj", "active": true});
        let r = app
            .scim(
                Method::POST,
                "t1",
                "/Users?attributes=userName",
                Some(user.clone()),
            )
            .await;
        assert_eq!(r.status(), 201);
        let location = r
            .headers()
            .get("location")
            .expect("Location without meta")
            .to_str()
            .unwrap()
            .to_string();
        let u: Value = r.json().await.unwrap();
        assert_eq!(keys(&u), vec!["id", "schemas", "userName"], "{u}");
        let id = u["id"].as_str().unwrap().to_string();
        assert!(location.ends_with(&format!("/Users/{id}")), "{location}");
        // PUT answers without what it excluded.
        let (s, u) = app
            .scim_json(
                Method::PUT,
                "t1",
                &format!("/Users/{id}?excludedAttributes=displayName,meta"),
                Some(user),
            )
            .await;
        assert_eq!(s, 200, "{u}");
        assert!(
            u.get("displayName").is_none()
                && u.get("meta").is_none()
                && u["userName"] == "proj@corp.example",
            "{u}"
        );
        // A group's PATCH without members in its answer; the members are still changed.
        let (s, g) = app.scim_json(Method::POST, "t1", "/Groups?excludedAttributes=members", Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Proj", "members": [{"value": id}]}))).await;
        assert_eq!(s, 201, "{g}");
        assert!(g.get("members").is_none(), "{g}");
        let path = format!("/Groups/{}", g["id"].as_str().unwrap());
        let other = app.create_id("t1", "/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "proj2@corp.example"})).await;
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "add", "path": "members", "value": [{"value": other}]}]});
        let (s, g) = app
            .scim_json(
                Method::PATCH,
                "t1",
                &format!("{path}?excludedAttributes=members"),
                Some(patch.clone()),
            )
            .await;
        assert_eq!(s, 200, "{g}");
        assert!(
            g.get("members").is_none() && g["displayName"] == "Proj",
            "{g}"
        );
        // The same PATCH again changes nothing; asked for members only, it lists both.
        let (s, g) = app
            .scim_json(
                Method::PATCH,
                "t1",
                &format!("{path}?attributes=members"),
                Some(patch),
            )
            .await;
        assert_eq!(s, 200, "{g}");
        assert_eq!(keys(&g), vec!["id", "members", "schemas"], "{g}");
        assert_eq!(g["members"].as_array().map(Vec::len), Some(2), "{g}");
    }
);
