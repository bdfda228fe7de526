//! The delivery engine end to end, against the vendor simulators over real HTTP: helpers
//! here (other test modules use them too), the tests by vendor and concern below.

mod carbon_black;
mod concurrency;
mod contrast;

use std::collections::HashSet;
use std::time::Duration;

use scim_bridge::sim::carbon_black::CarbonBlackSimConfig;
use scim_bridge::sim::contrast::{BASE_PATH, ContrastSim};
use serde_json::{Value, json};

use crate::helpers::*;

pub fn contrast_toml(name: &str, sim_base: &str, extra: &str) -> String {
    let c = ContrastSim::default();
    let cfg = c.config();
    format!(
        "[targets.{name}]\nkind = \"contrast\"\ntoken_sha256 = [\"{{token:{name}}}\"]\nbase_url = \"{sim_base}{BASE_PATH}\"\n\
         org_uuid = \"{}\"\nusername = \"{}\"\nservice_key = \"{}\"\napi_key = \"{}\"\n{extra}\n",
        cfg.org_uuid, cfg.username, cfg.service_key, cfg.api_key
    )
}

pub fn carbon_black_toml(name: &str, sim_base: &str, extra: &str) -> String {
    let c = CarbonBlackSimConfig::default();
    format!(
        "[targets.{name}]\nkind = \"carbon_black\"\ntoken_sha256 = [\"{{token:{name}}}\"]\nbase_url = \"{sim_base}\"\n\
         org_key = \"{}\"\napi_id = \"{}\"\napi_secret = \"{}\"\n{extra}\n",
        c.org_key, c.api_id, c.api_secret
    )
}

pub fn user_body(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
           "name": {"givenName": "Given", "familyName": "Family"},
           "emails": [{"value": name, "primary": true, "type": "work"}], "active": true})
}

pub fn active_patch(active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "value": {"active": active}}]})
}

pub async fn drain(app: &TestApp) -> usize {
    app.app.engine.run_until_idle(10_000).await.expect("engine")
}

async fn mapping(
    app: &TestApp,
    target: &str,
    rt: &str,
    id: &str,
) -> scim_bridge::store::mappings::MappingRow {
    app.store()
        .get_mapping(target, rt, id)
        .await
        .unwrap()
        .expect("mapping row")
}

/// Waits (bounded) until no mapping of `target` is pending or retrying.
pub async fn converged(app: &TestApp, target: &str, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let counts = app.store().mapping_counts().await.unwrap();
        let busy = counts
            .iter()
            .any(|(t, s, n)| t == target && (s == "pending" || s == "retrying") && *n > 0);
        let queue = app
            .store()
            .queue_stats(i64::MAX)
            .await
            .unwrap()
            .iter()
            .any(|q| q.target == target && q.depth > 0);
        if !busy && !queue {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
