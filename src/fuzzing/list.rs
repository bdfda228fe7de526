//! The database behind the `filter_exec` fuzz target: a compiled filter and sortBy run as the
//! list endpoint's query (`Store::list_resources`) on SQLite or Postgres, over a few seeded
//! resources (rich, minimal and odd values; a group with members; an Abnormal cache row).
//! SQL the database rejects would be a 500 for the client, so it is a finding.

use std::path::Path;

use secrecy::SecretString;
use serde_json::{Map, Value, json};

use crate::scim::ResourceType;
use crate::scim::canonical::canonicalize;
use crate::scim::filter_sql::{FilterContext, compile_filter, compile_sort};
use crate::store::enrichment::EnrichmentRow;
use crate::store::resources::{ListQuery, MemberInput, ResourceWrite};
use crate::store::{PoolOptions, Store};

const TARGET: &str = "fuzz";
const SOURCE: &str = "abnormal";

/// A migrated, seeded store and the runtime its queries run on.
pub struct SqlList {
    runtime: tokio::runtime::Runtime,
    store: Store,
}

/// What one list request came to.
#[derive(Debug, Clone, PartialEq)]
pub enum ListOutcome {
    /// The filter or sortBy does not compile: a 400 for the client.
    Rejected,
    /// The ids of the matching resources, in the order listed.
    Listed(Vec<String>),
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

impl SqlList {
    /// A SQLite database file at `path` (replaced when it exists).
    pub fn sqlite(path: &Path) -> Result<Self, String> {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Self::open(runtime()?, format!("sqlite://{}", path.display()))
    }

    /// A fresh schema `schema` (letters, digits, `_`) on the Postgres server at `admin_url`.
    pub fn postgres(admin_url: &str, schema: &str) -> Result<Self, String> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(format!("bad schema name `{schema}`"));
        }
        let runtime = runtime()?;
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(admin_url)
                .await
                .map_err(|e| e.to_string())?;
            for sql in [
                format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                format!("CREATE SCHEMA {schema}"),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            pool.close().await;
            Ok::<_, String>(())
        })?;
        let mut url = url::Url::parse(admin_url).map_err(|e| e.to_string())?;
        url.query_pairs_mut()
            .append_pair("options[search_path]", schema);
        Self::open(runtime, url.to_string())
    }

    fn open(runtime: tokio::runtime::Runtime, url: String) -> Result<Self, String> {
        // One connection: an input meets the statements earlier inputs prepared, in order,
        // so a saved sequence replays the same way (fuzz/regressions/filter_exec/pg-bind-*).
        let opts = PoolOptions {
            max_connections: 1,
            ..PoolOptions::default()
        };
        let store = runtime.block_on(async {
            let store = Store::connect(&SecretString::from(url), opts)
                .await
                .map_err(|e| e.to_string())?;
            store.migrate().await.map_err(|e| e.to_string())?;
            seed(&store).await?;
            Ok::<_, String>(store)
        })?;
        Ok(Self { runtime, store })
    }

    /// `filter` and `sortBy` compiled as the list endpoint does (list.rs) and run with
    /// `Store::list_resources` (first page of 100). Err is the database's refusal.
    pub fn list(
        &self,
        rt: ResourceType,
        enriched: bool,
        filter: Option<&str>,
        sort_by: Option<&str>,
        descending: bool,
    ) -> Result<ListOutcome, String> {
        let enriched = enriched && rt == ResourceType::User;
        let ctx = FilterContext {
            dialect: self.store.dialect(),
            resource_type: rt,
            enrichment_joined: enriched,
            first_placeholder: ListQuery::first_filter_placeholder(enriched),
        };
        let Ok(filter) = filter.map(|f| compile_filter(f, &ctx)).transpose() else {
            return Ok(ListOutcome::Rejected);
        };
        let Ok(sort) = sort_by.map(|s| compile_sort(s, &ctx)).transpose() else {
            return Ok(ListOutcome::Rejected);
        };
        let q = ListQuery {
            target: TARGET,
            resource_type: rt,
            enrichment_source: enriched.then_some(SOURCE),
            filter,
            sort,
            descending,
            offset: 0,
            limit: 100,
            with_links: true,
            now_ms: 0,
        };
        let (_, rows) = self
            .runtime
            .block_on(self.store.list_resources(&q))
            .map_err(|e| e.to_string())?;
        Ok(ListOutcome::Listed(
            rows.into_iter().map(|r| r.id).collect(),
        ))
    }
}

fn users() -> [(&'static str, Value); 4] {
    let ent = crate::scim::ENTERPRISE_USER_SCHEMA;
    [
        (
            "u1",
            json!({
                "userName": "jane.doe@example.com", "externalId": "00u1",
                "name": {"givenName": "Jane", "familyName": "Doe", "formatted": "Jane Doe"},
                "displayName": "Jane Doe", "nickName": "JD", "title": "Engineer", "active": true,
                "userType": "Employee", "locale": "en-US", "timezone": "Europe/Berlin",
                "emails": [{"value": "jane.doe@example.com", "type": "work", "primary": true},
                           {"value": "jane@home.example", "type": "home"}],
                "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
                "addresses": [{"type": "work", "locality": "Berlin", "postalCode": "10115",
                               "country": "DE", "primary": true}],
                "roles": [{"value": "ANALYST"}], "entitlements": [{"value": "E1"}],
                (ent): {"employeeNumber": "42", "department": "Security", "costCenter": "CC-7",
                        "manager": {"value": "u2"}}
            }),
        ),
        ("u2", json!({"userName": "bob"})),
        (
            "u3",
            json!({
                "userName": "ÇA@ÉXAMPLE.com", "active": false, "title": "50%_off[*]?\\",
                "name": {"givenName": "", "familyName": "O'Brien"},
                "emails": [{"value": "x"}, {"value": "Y@EXAMPLE.COM", "primary": false}],
                (ent): {"department": "", "manager": {"value": ""}}
            }),
        ),
        (
            "u4",
            json!({"userName": "zoë", "displayName": "\u{10FFFF}", "active": true,
                   "emails": [], "x509Certificates": [{"value": "MIIB"}]}),
        ),
    ]
}

async fn seed(store: &Store) -> Result<(), String> {
    let mut now_ms = 1_717_200_000_000_i64;
    let mut put = |rt, id: &'static str, data: Map<String, Value>, members| {
        now_ms += 86_400_123;
        (rt, id, data, members, now_ms)
    };
    let mut writes = Vec::new();
    for (id, body) in users() {
        let data = canonicalize(ResourceType::User, &body).map_err(|e| e.to_string())?;
        writes.push(put(ResourceType::User, id, data, None));
    }
    let member = |id: &str, display: Option<&str>| MemberInput {
        id: id.into(),
        display: display.map(str::to_string),
    };
    for (id, name, members) in [
        (
            "g1",
            "Engineering",
            vec![member("u1", Some("Jane")), member("u2", None)],
        ),
        ("g2", "Empty", Vec::new()),
    ] {
        let body = json!({"displayName": name, "externalId": format!("ext-{id}")});
        let data = canonicalize(ResourceType::Group, &body).map_err(|e| e.to_string())?;
        writes.push(put(ResourceType::Group, id, data, Some(members)));
    }
    for (rt, id, data, members, now_ms) in &writes {
        let w = ResourceWrite {
            target: TARGET,
            resource_type: *rt,
            id,
            data,
            members: members.as_deref(),
            now_ms: *now_ms,
            method: "POST",
        };
        store.create_resource(&w).await.map_err(|e| e.to_string())?;
    }
    let row = EnrichmentRow {
        risk_score: Some("91".into()),
        risk_level: Some("High".into()),
        compromised_since: Some("2024-05-31T23:00:00.000Z".into()),
        is_vip: Some(true),
        department: Some("Security".into()),
        title: None,
        is_active: Some(true),
        open_case_count: Some(2),
        cases: Some(r#"[{"caseId":"c1","severity":"HIGH","status":"Open"}]"#.into()),
        last_refreshed: Some("2024-06-01T00:00:00.000Z".into()),
    };
    store
        .upsert_enrichment(SOURCE, "jane.doe@example.com", &row, "fp")
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
