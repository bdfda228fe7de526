//! Abuse and isolation: a token of one target never opens another target or the admin API,
//! failed authentications are rate limited per IP, `/admin` carries browser hardening
//! headers, and no secret ever shows up in logs, error bodies, metrics or mapping rows.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::delivery::{active_patch, carbon_black_toml, contrast_toml, converged, user_body};
use crate::helpers::*;
use crate::logs::log_buffer;
use scim_bridge::sim::carbon_black::{CarbonBlackSim, CarbonBlackSimConfig};
use scim_bridge::sim::contrast::{ContrastSim, ContrastSimConfig};

/// Every SCIM route and method, with ids that exist in target `t2`.
fn scim_routes(uid: &str, gid: &str) -> Vec<(Method, String)> {
    let mut v = vec![
        (Method::GET, "/Users".to_string()),
        (Method::POST, "/Users".into()),
        (Method::POST, "/Users/.search".into()),
        (Method::GET, "/Groups".into()),
        (Method::POST, "/Groups".into()),
        (Method::POST, "/Groups/.search".into()),
        (Method::POST, "/.search".into()),
        (Method::GET, "/ServiceProviderConfig".into()),
        (Method::GET, "/ResourceTypes".into()),
        (Method::GET, "/ResourceTypes/User".into()),
        (Method::GET, "/Schemas".into()),
        (
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User".into(),
        ),
        (Method::POST, "/Bulk".into()),
    ];
    for m in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ] {
        v.push((m, "/Me".into()));
    }
    for m in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
        v.push((m.clone(), format!("/Users/{uid}")));
        v.push((m, format!("/Groups/{gid}")));
    }
    v
}

both!(
    a_token_of_one_target_opens_no_route_of_another,
    |b| async move {
        let mut s = Spawn::new(b);
        s.auth_failures_per_minute = Some(1000);
        let app = spawn_with(s).await;
        let (st, u) = app
            .scim_json(
                Method::POST,
                "t2",
                "/Users",
                Some(user_body("iso@corp.example")),
            )
            .await;
        assert_eq!(st, 201);
        let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Iso"});
        let (st, g) = app.scim_json(Method::POST, "t2", "/Groups", Some(g)).await;
        assert_eq!(st, 201);
        let (uid, gid) = (u["id"].as_str().unwrap(), g["id"].as_str().unwrap());
        for (m, path) in scim_routes(uid, gid) {
            for (token, who) in [
                (&app.tokens["t1"], "t1 token"),
                (&app.admin_token, "admin token"),
            ] {
                let r = app
                    .client
                    .request(m.clone(), app.url("t2", &path))
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .body(json!({"Operations": []}).to_string())
                    .send()
                    .await
                    .unwrap();
                let st = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert!(st == 401, "{who} on t2 {m} {path}: {st} {body}");
                assert_scim_error(st, &body, 401, None);
            }
        }
        // Still there and unchanged for its own token.
        let (st, again) = app
            .scim_json(Method::GET, "t2", &format!("/Users/{uid}"), None)
            .await;
        assert_eq!((st, &again["userName"]), (200, &json!("iso@corp.example")));
    }
);

const ADMIN_ROUTES: [(&str, &str); 5] = [
    ("GET", "/admin/v1/mappings"),
    ("GET", "/admin/v1/mappings/t1/x"),
    ("GET", "/admin/v1/lookup/someone@corp.example"),
    ("POST", "/admin/v1/retry"),
    ("GET", "/admin/v1/queue"),
];

both!(
    scim_tokens_do_not_open_the_admin_api_and_admin_is_hardened,
    |b| async move {
        let app = spawn_app(b).await;
        for (m, path) in ADMIN_ROUTES {
            let m = Method::from_bytes(m.as_bytes()).unwrap();
            for token in [&app.tokens["t1"], &app.tokens["t2"], &"nope".to_string()] {
                let r = app
                    .client
                    .request(m.clone(), format!("{}{path}", app.base))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 401, "{m} {path}");
                assert_hardened(&r, path);
            }
            let r = app
                .client
                .request(m.clone(), format!("{}{path}", app.base))
                .bearer_auth(&app.admin_token)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_ne!(r.status().as_u16(), 401, "admin token on {m} {path}");
            assert_hardened(&r, path);
        }
    }
);

fn assert_hardened(r: &reqwest::Response, path: &str) {
    let h = r.headers();
    for (name, want) in [
        ("content-security-policy", "default-src 'self'"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(
            h.get(name).and_then(|v| v.to_str().ok()),
            Some(want),
            "{name} on {path}"
        );
    }
}

both!(failed_authentications_are_limited_per_ip, |b| async move {
    let app = spawn_app(b).await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for i in 0..40 {
        let path = if i % 2 == 0 {
            "/scim/v2/t1/Users"
        } else {
            "/admin/v1/queue"
        };
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status().as_u16() == 429 && limited.is_none() {
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = r.json().await.unwrap();
            limited = Some((retry, body));
        }
    }
    // Default: 30 failures per minute per IP, shared by SCIM and admin.
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[30..].iter().all(|s| *s == 429), "{statuses:?}");
    let (retry, body) = limited.unwrap();
    let secs: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    assert_scim_error(429, &body, 429, None);
    // The right token still works: the limit counts failures only.
    let (st, _) = app.scim_json(Method::GET, "t1", "/Users", None).await;
    assert_eq!(st, 200);
});

both!(
    no_secret_in_logs_errors_metrics_or_mappings,
    |b| async move {
        let logs = log_buffer();
        let ccfg = ContrastSimConfig {
            service_key: format!("svc-{}", uuid::Uuid::new_v4().simple()),
            api_key: format!("api-{}", uuid::Uuid::new_v4().simple()),
            ..ContrastSimConfig::default()
        };
        let contrast = ContrastSim::new(ccfg.clone());
        let cserver = contrast.start().await.unwrap();
        let cbcfg = CarbonBlackSimConfig {
            api_secret: format!("cbsecret{}", uuid::Uuid::new_v4().simple()),
            ..CarbonBlackSimConfig::default()
        };
        let cb = CarbonBlackSim::new(cbcfg.clone());
        let cbserver = cb.start().await.unwrap();
        let mut s = Spawn::new(b);
        s.extra_tokens = vec!["c".into(), "cb".into()];
        s.background = true;
        s.extra_toml = contrast_toml(
            "c",
            &cserver.base_url(),
            "groups = { Developers = \"g-1\" }",
        )
        .replace("svc-key", &ccfg.service_key)
        .replace("api-key", &ccfg.api_key)
            + &carbon_black_toml("cb", &cbserver.base_url(), "")
                .replace("api-secret", &cbcfg.api_secret);
        let app = spawn_with(s).await;
        // A vendor that fails now and then, so error paths are logged too.
        contrast.set_faults(scim_bridge::sim::Faults {
            error_rate: 0.3,
            seed: Some(7),
            ..Default::default()
        });

        let mut bodies = Vec::new();
        for t in ["c", "cb"] {
            for i in 0..3 {
                let (st, u) = app
                    .scim_json(
                        Method::POST,
                        t,
                        "/Users",
                        Some(user_body(&format!("s{i}@corp.example"))),
                    )
                    .await;
                assert_eq!(st, 201, "{u}");
                let id = u["id"].as_str().unwrap().to_string();
                let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "displayName": "Developers", "members": [{"value": id}]});
                bodies.push(app.scim_json(Method::POST, t, "/Groups", Some(g)).await.1);
                if i == 2 {
                    let p = format!("/Users/{id}");
                    bodies.push(
                        app.scim_json(Method::PATCH, t, &p, Some(active_patch(false)))
                            .await
                            .1,
                    );
                }
            }
            // Error bodies: bad filter, bad PATCH, unknown id, wrong token.
            bodies.push(
                app.scim_json(Method::GET, t, "/Users?filter=userName%20zz", None)
                    .await
                    .1,
            );
            bodies.push(
                app.scim_json(Method::PATCH, t, "/Users/nope", Some(json!({})))
                    .await
                    .1,
            );
            let r = app
                .client
                .get(app.url(t, "/Users"))
                .bearer_auth(&app.tokens["t1"])
                .send()
                .await
                .unwrap();
            bodies.push(r.json().await.unwrap_or(Value::Null));
        }
        for t in ["c", "cb"] {
            let done = converged(&app, t, std::time::Duration::from_secs(30)).await;
            let counts = app.store().mapping_counts().await.unwrap();
            assert!(done, "{t} did not converge: {counts:?}");
        }
        let mut haystack = String::new();
        for b in &bodies {
            haystack.push_str(&b.to_string());
        }
        let (_, maps) = app.admin_get("/admin/v1/mappings?limit=1000").await;
        haystack.push_str(&maps.to_string());
        for m in maps["mappings"]
            .as_array()
            .or(maps.as_array())
            .into_iter()
            .flatten()
        {
            let (t, id) = (
                m["target"].as_str().unwrap_or("-"),
                m["scim_id"].as_str().unwrap_or("-"),
            );
            haystack.push_str(
                &app.admin_get(&format!("/admin/v1/mappings/{t}/{id}"))
                    .await
                    .1
                    .to_string(),
            );
        }
        let metrics = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        haystack.push_str(&metrics.text().await.unwrap());
        haystack.push_str(&String::from_utf8_lossy(&logs.lock().unwrap()));
        assert!(
            haystack.contains("s0@corp.example"),
            "the scenario ran and was captured"
        );
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", ccfg.username, ccfg.service_key),
        );
        let mut secrets: Vec<String> = app.tokens.values().cloned().collect();
        secrets.extend([
            app.admin_token.clone(),
            ccfg.service_key.clone(),
            ccfg.api_key.clone(),
            basic,
            cbcfg.api_secret.clone(),
        ]);
        for secret in secrets {
            assert!(!haystack.contains(&secret), "secret {secret} leaked");
        }
    }
);
