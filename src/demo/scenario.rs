//! The scripted scenario of `scim-bridge demo --scenario`: over real HTTP to the running
//! bridge, it pushes what Okta would, waits for the workers, and prints what each vendor
//! simulator received and what the mapping table says.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use super::show::{abnormal_ext, print_calls, print_mappings, short, wait_converged};
use super::{CARBON_BLACK, CONTRAST, DemoTokens};
use crate::sim::carbon_black::KeyStatus;
use crate::startup::Application;
use crate::store::mappings::MappingFilter;

/// How long the scenario waits for the vendors at each step.
const CONVERGE_WITHIN: Duration = Duration::from_secs(30);

/// The person the scenario deprovisions at Carbon Black; Abnormal's simulator knows them.
pub const SCENARIO_PERSON: &str = "person3@example.com";

/// What the scenario saw, for tests and the final summary.
#[derive(Debug, Clone, Default)]
pub struct ScenarioReport {
    /// Contrast users whose invitation is pending (invited, not yet accepted).
    pub contrast_invitations: Vec<String>,
    /// Members of the Contrast access group "Developers" (g-1), by username.
    pub contrast_developers: Vec<String>,
    /// Carbon Black API keys revoked when the user was deactivated.
    pub revoked_keys: Vec<String>,
    /// Whether the Carbon Black user was deleted.
    pub carbon_black_deleted: bool,
    /// Abnormal's risk level of [`SCENARIO_PERSON`], as shown on the SCIM user.
    pub risk_level: Option<String>,
    /// Every step converged within its time limit.
    pub converged: bool,
}

/// A SCIM client for the demo's own server.
struct Scim {
    http: reqwest::Client,
    base: String,
    tokens: DemoTokens,
}

impl Scim {
    async fn send(
        &self,
        method: reqwest::Method,
        target: &str,
        path: &str,
        body: Option<Value>,
        out: &mut impl Write,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/scim/v2/{target}{path}", self.base);
        let token = self
            .tokens
            .target(target)
            .ok_or_else(|| anyhow!("no token for target {target}"))?;
        let shown = body
            .as_ref()
            .map(|b| short(&b.to_string(), 100))
            .unwrap_or_default();
        writeln!(out, "  → {method} /scim/v2/{target}{path} {shown}")?;
        let mut req = self.http.request(method, &url).bearer_auth(token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling the demo server at {url}"))?;
        let status = resp.status();
        let json: Value = resp.json().await.unwrap_or(Value::Null);
        let id = json.get("id").and_then(Value::as_str).unwrap_or("-");
        writeln!(out, "  ← {} id={id}", status.as_u16())?;
        if !status.is_success() {
            let detail = json.get("detail").and_then(Value::as_str).unwrap_or("");
            bail!("the bridge answered {status} to {url}: {detail}");
        }
        Ok(json)
    }
}

fn user(email: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": email, "primary": true, "type": "work"}],
        "active": true
    })
}

fn id_of(v: &Value) -> anyhow::Result<String> {
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the bridge's answer has no id"))
}

/// Runs the scenario against `app` (which must have the demo's simulated targets and an
/// empty database) and prints each step to `out`.
pub async fn run_scenario(
    app: &Application,
    tokens: &DemoTokens,
    out: &mut impl Write,
) -> anyhow::Result<ScenarioReport> {
    let store = &app.state.store;
    let (existing, _) = store
        .list_mappings(&MappingFilter {
            limit: 1,
            ..MappingFilter::default()
        })
        .await?;
    if existing > 0 {
        bail!(
            "the scenario needs an empty database, and this one already has {existing} mapping(s): \
             run it without --data-dir (a fresh temporary directory) or with a new, empty --data-dir"
        );
    }
    let sims = &app.simulators;
    let (Some((_, contrast)), Some((_, cb)), Some(_)) = (
        sims.contrast.first(),
        sims.carbon_black.first(),
        sims.abnormal.first(),
    ) else {
        bail!("the scenario needs the demo's three simulated targets");
    };
    let scim = Scim {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        base: format!("http://{}", app.addr),
        tokens: tokens.clone(),
    };
    let mut report = ScenarioReport {
        converged: true,
        ..ScenarioReport::default()
    };
    use reqwest::Method;

    writeln!(out, "\n== Scenario: what Okta would push ==")?;
    writeln!(
        out,
        "\n[1/5] Okta assigns three people to the Contrast app (SCIM POST /Users)"
    )?;
    let (c0, b0) = (contrast.calls().len(), cb.calls().len());
    let mut ids = Vec::new();
    for (email, given, family) in [
        ("ada@example.com", "Ada", "Lovelace"),
        ("grace@example.com", "Grace", "Hopper"),
        (SCENARIO_PERSON, "Person", "Three"),
    ] {
        let body = user(email, given, family);
        let r = scim
            .send(Method::POST, CONTRAST, "/Users", Some(body), out)
            .await?;
        ids.push(id_of(&r)?);
    }
    writeln!(
        out,
        "\n[2/5] Okta pushes the group \"Developers\" with Ada and Grace (SCIM POST /Groups)"
    )?;
    let members: Vec<Value> = ids[..2].iter().map(|id| json!({"value": id})).collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": "Developers", "members": members});
    scim.send(Method::POST, CONTRAST, "/Groups", Some(group), out)
        .await?;
    writeln!(
        out,
        "\n[3/5] Okta assigns {SCENARIO_PERSON} to the Carbon Black app"
    )?;
    let r = scim
        .send(
            Method::POST,
            CARBON_BLACK,
            "/Users",
            Some(user(SCENARIO_PERSON, "Person", "Three")),
            out,
        )
        .await?;
    let cb_id = id_of(&r)?;
    report.converged &= wait_converged(store, "delivering", CONVERGE_WITHIN).await?;
    writeln!(out, "\n  What the vendors received:")?;
    print_calls(out, "Contrast", &contrast.calls(), c0)?;
    print_calls(out, "Carbon Black", &cb.calls(), b0)?;
    writeln!(out, "\n  Vendor state:")?;
    for u in contrast.users() {
        writeln!(
            out,
            "    Contrast user {:<20} enabled={} invitation={:?} (an invitation email went out; \
             it stays pending until they accept)",
            u.username, u.enabled, u.invitation_status
        )?;
        if format!("{:?}", u.invitation_status).eq_ignore_ascii_case("pending") {
            report.contrast_invitations.push(u.username.clone());
        }
    }
    if let Some(g) = contrast.groups().into_iter().find(|g| g.group_id == "g-1") {
        let mut names: Vec<String> = g
            .users
            .iter()
            .map(|id| {
                contrast
                    .user(id)
                    .map(|u| u.username)
                    .unwrap_or_else(|| id.clone())
            })
            .collect();
        names.sort();
        writeln!(
            out,
            "    Contrast access group {} ({}) members: {}",
            g.group_id,
            g.name,
            names.join(", ")
        )?;
        report.contrast_developers = names;
    }
    writeln!(out, "\n  The mapping table:")?;
    print_mappings(out, store, None).await?;

    writeln!(
        out,
        "\n[4/5] Meanwhile {SCENARIO_PERSON} made two API keys at Carbon Black; then Okta \
         deactivates them (SCIM PATCH active=false)"
    )?;
    let keys = [
        cb.add_key(SCENARIO_PERSON, "ci-pipeline"),
        cb.add_key(SCENARIO_PERSON, "laptop-script"),
    ];
    for k in &keys {
        writeln!(
            out,
            "    Carbon Black API key {} \"{}\" owned by {}",
            k.id, k.name, k.owner_login_id
        )?;
    }
    let b1 = cb.calls().len();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "value": {"active": false}}]});
    scim.send(
        Method::PATCH,
        CARBON_BLACK,
        &format!("/Users/{cb_id}"),
        Some(patch),
        out,
    )
    .await?;
    report.converged &= wait_converged(store, "deprovisioning", CONVERGE_WITHIN).await?;
    writeln!(out, "\n  What Carbon Black received:")?;
    print_calls(out, "Carbon Black", &cb.calls(), b1)?;
    let now = cb.keys();
    for k in &keys {
        let status = now.iter().find(|n| n.id == k.id).map(|n| n.status);
        let revoked = !matches!(status, Some(KeyStatus::Enabled));
        let shown = if status.is_none() {
            "deleted".to_string()
        } else {
            format!("{status:?}")
        };
        writeln!(
            out,
            "    API key {}: {shown}{}",
            k.id,
            if revoked { " (revoked)" } else { "" }
        )?;
        if revoked {
            report.revoked_keys.push(k.id.clone());
        }
    }
    report.carbon_black_deleted = cb.user_by_login(SCENARIO_PERSON).is_none();
    writeln!(
        out,
        "    Carbon Black user {SCENARIO_PERSON}: {}",
        if report.carbon_black_deleted {
            "deleted (Carbon Black has no disable; the SCIM user stays, inactive)"
        } else {
            "still there"
        }
    )?;
    writeln!(out, "\n  The mapping table for {CARBON_BLACK}:")?;
    print_mappings(out, store, Some(CARBON_BLACK)).await?;

    writeln!(
        out,
        "\n[5/5] What Abnormal says about {SCENARIO_PERSON} (read-only; shown on the SCIM user)"
    )?;
    report.risk_level = show_abnormal(&scim, &cb_id, out).await?;
    writeln!(out, "\n== Scenario done ==")?;
    if !report.converged {
        writeln!(
            out,
            "Some changes had not reached the vendors within {}s; the mapping table above says \
             which and why (`curl …/admin/v1/mappings`).",
            CONVERGE_WITHIN.as_secs()
        )?;
    }
    Ok(report)
}

/// GETs the Carbon Black SCIM user and prints its Abnormal extension. The Abnormal poller
/// fills its cache at start, so this waits (briefly) for the first sweep when needed.
async fn show_abnormal(
    scim: &Scim,
    id: &str,
    out: &mut impl Write,
) -> anyhow::Result<Option<String>> {
    let path = format!("/Users/{id}");
    let mut sink = Vec::new();
    for _ in 0..50 {
        let u = scim
            .send(reqwest::Method::GET, CARBON_BLACK, &path, None, &mut sink)
            .await?;
        if abnormal_ext(&u).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let u = scim
        .send(reqwest::Method::GET, CARBON_BLACK, &path, None, out)
        .await?;
    let Some(ext) = abnormal_ext(&u) else {
        writeln!(
            out,
            "    (Abnormal has not answered yet; GET the user again in a minute)"
        )?;
        return Ok(None);
    };
    writeln!(out, "    \"{}\": {{", crate::scim::ABNORMAL_USER_SCHEMA)?;
    for (k, v) in ext {
        writeln!(out, "      \"{k}\": {},", short(&v.to_string(), 80))?;
    }
    writeln!(out, "    }}")?;
    Ok(ext
        .get("riskLevel")
        .and_then(Value::as_str)
        .map(str::to_string))
}
