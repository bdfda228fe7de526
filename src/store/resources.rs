//! SCIM resource writes. Every write also enqueues its sync job, marks the mapping pending
//! and appends a history event, in the same transaction (the outbox). Reads are in
//! `resource_reads.rs`.

use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};

use super::enrichment::EnrichmentRow;
use super::group_members::{MemberChanges, add_members_in, current_members_in, remove_members_in};
use super::jobs::{check_members, enqueue_in, enqueue_members_in, record_accepted_in};
pub use super::resource_reads::ListQuery;
use super::single_statement::create_pg;
use super::write_tx::BeginWrite;
use super::write_tx::with_writer;
use super::{Store, StoreError, StoreResult};
use super::{with_conn, with_pg_conn};
use crate::scim::ResourceType;

/// A resource as stored, with its derived membership and enrichment when asked for.
#[derive(Debug, Clone)]
pub struct StoredResource {
    pub id: String,
    pub resource_type: ResourceType,
    /// Canonical SCIM JSON without id, meta, members and groups.
    pub data: Map<String, Value>,
    pub version: i64,
    pub created: String,
    pub last_modified: String,
    pub enrichment: Option<EnrichmentRow>,
    /// Membership, when read with it: a user's groups or a group's members.
    pub links: Option<MemberLinks>,
}

/// Membership as shown: `(id, label)` pairs ordered by id.
pub type MemberLinks = Vec<(String, Option<String>)>;

/// One group member as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInput {
    /// The member user's id.
    pub id: String,
    /// `members[].display`, kept as sent.
    pub display: Option<String>,
}

fn member_ids(members: &[MemberInput]) -> Vec<String> {
    members.iter().map(|m| m.id.clone()).collect()
}

/// A create or replace.
#[derive(Debug, Clone)]
pub struct ResourceWrite<'a> {
    pub target: &'a str,
    pub resource_type: ResourceType,
    pub id: &'a str,
    pub data: &'a Map<String, Value>,
    /// Groups only: the whole member list.
    pub members: Option<&'a [MemberInput]>,
    pub now_ms: i64,
    /// What the IdP did, for the history ("POST", "PUT", "PATCH").
    pub method: &'a str,
}

/// Columns derived from the JSON for indexes and joins.
#[derive(Debug, Clone)]
pub(super) struct Derived {
    pub(super) external_id: Option<String>,
    pub(super) user_name_lc: Option<String>,
    pub(super) display_name_lc: Option<String>,
    pub(super) email_lc: Option<String>,
    pub(super) active: Option<bool>,
    pub(super) label: Option<String>,
}

fn str_at<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

/// The primary email, else the first one.
pub fn primary_email(data: &Map<String, Value>) -> Option<&str> {
    let emails = data.get("emails")?.as_array()?;
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    primary
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

pub(super) fn derive(rt: ResourceType, data: &Map<String, Value>) -> Derived {
    let external_id = str_at(data, "externalId").map(str::to_owned);
    match rt {
        ResourceType::User => {
            let user_name = str_at(data, "userName");
            let display = str_at(data, "displayName");
            let email = primary_email(data).or(user_name);
            Derived {
                external_id,
                user_name_lc: user_name.map(str::to_lowercase),
                display_name_lc: display.map(str::to_lowercase),
                email_lc: email.map(str::to_lowercase),
                active: Some(data.get("active").and_then(Value::as_bool).unwrap_or(true)),
                label: display.or(user_name).map(str::to_owned),
            }
        }
        ResourceType::Group => {
            let display = str_at(data, "displayName");
            Derived {
                external_id,
                user_name_lc: None,
                display_name_lc: display.map(str::to_lowercase),
                email_lc: None,
                active: None,
                label: display.map(str::to_owned),
            }
        }
    }
}

fn conflict_message(rt: ResourceType, data: &Map<String, Value>) -> String {
    match rt {
        ResourceType::User => format!(
            "userName `{}` is already taken in this target (compared case-insensitively)",
            str_at(data, "userName").unwrap_or_default()
        ),
        ResourceType::Group => format!(
            "a group named `{}` already exists in this target",
            str_at(data, "displayName").unwrap_or_default()
        ),
    }
}

/// A unique-index violation as the SCIM-facing message; other errors unchanged.
pub(super) fn uniqueness(e: sqlx::Error, w: &ResourceWrite<'_>) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(conflict_message(w.resource_type, w.data)),
        other => other,
    }
}

impl Store {
    /// A replace that broke a unique index (`e`, a 409) when `expected_version` was named:
    /// a failed precondition is a 412 whatever else the write would break (RFC 7644
    /// §3.14), so a taken userName is a 409 only at the version named.
    pub(super) async fn precondition_first(
        &self,
        w: &ResourceWrite<'_>,
        e: StoreError,
        expected_version: Option<i64>,
    ) -> StoreError {
        let Some(ev) = expected_version else { return e };
        if !matches!(e, StoreError::Conflict(_)) {
            return e;
        }
        match self.current_version(w).await {
            Ok(None) => StoreError::NotFound,
            Ok(Some(current)) if current != ev => StoreError::VersionMismatch { current },
            Ok(Some(_)) => e,
            Err(read) => read,
        }
    }

    /// The resource's version as committed now, outside any transaction.
    pub(super) async fn current_version(&self, w: &ResourceWrite<'_>) -> StoreResult<Option<i64>> {
        with_conn!(self, c => {
            sqlx::query_scalar("SELECT version FROM scim_resources WHERE target = $1 AND resource_type = $2 AND id = $3")
                .bind(w.target).bind(w.resource_type.as_str()).bind(w.id)
                .fetch_optional(c).await.map_err(StoreError::from)
        })
    }

    /// `lock` on Postgres; nothing on SQLite, whose one writer is alone.
    pub(super) fn row_lock(&self, lock: &'static str) -> &'static str {
        match self.dialect() {
            super::Dialect::Postgres => lock,
            super::Dialect::Sqlite => "",
        }
    }

    /// Inserts a new resource (and group members) with its job, in one transaction.
    pub async fn create_resource(&self, w: &ResourceWrite<'_>) -> StoreResult<StoredResource> {
        let d = derive(w.resource_type, w.data);
        let created = crate::clock::rfc3339_ms(w.now_ms);
        let rt = w.resource_type.as_str();
        let written = StoredResource {
            id: w.id.to_string(),
            resource_type: w.resource_type,
            data: w.data.clone(),
            version: 1,
            created: created.clone(),
            last_modified: created.clone(),
            enrichment: None,
            links: None,
        };
        if let Some(creates) = &self.creates
            && w.resource_type == ResourceType::User
            && w.members.is_none_or(<[MemberInput]>::is_empty)
        {
            let row = super::create_batches::CreateRow::new(w, &d, &created);
            return match creates.create(row).await? {
                Some(Ok(())) => Ok(written),
                Some(Err(e)) => Err(e.clone_lossy()),
                None => Err(StoreError::Conflict(conflict_message(
                    w.resource_type,
                    w.data,
                ))),
            };
        }
        if let super::Db::Pg(pool) = &self.db
            && w.members.is_none_or(<[MemberInput]>::is_empty)
        {
            with_pg_conn!(self, pool, c => {
                create_pg(c, w, &d, &created).await.map_err(|e| uniqueness(e, w))
            })?;
            return Ok(written);
        }
        with_writer!(self, p => {
            let mut tx = p.begin_write().await?;
            let res = sqlx::query(
                "INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc, \
                 email_lc, active, label, data, version, created, last_modified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11)",
            )
            .bind(w.target).bind(rt).bind(w.id).bind(&d.external_id).bind(&d.user_name_lc)
            .bind(&d.display_name_lc).bind(&d.email_lc).bind(d.active).bind(&d.label)
            .bind(Json(w.data)).bind(&created)
            .execute(&mut *tx).await;
            if let Err(e) = res {
                return Err(uniqueness(e, w));
            }
            if let Some(members) = w.members {
                check_members!(&mut *tx, w.target, member_ids(members), self.row_lock(" FOR SHARE"));
                // Sorted: concurrent writes lock member job rows in one order.
                let mut members: Vec<&MemberInput> = members.iter().collect();
                members.sort_by(|a, b| a.id.cmp(&b.id));
                add_members_in!(tx, self.dialect(), w.target, w.id, &members, w.now_ms);
            }
            enqueue_in!(&mut *tx, w.target, rt, w.id, w.now_ms);
            record_accepted_in!(&mut *tx, w.target, rt, w.id, d.label.as_deref(), w.now_ms, w.method, 1);
            tx.commit().await?;
            Ok(written)
        })
    }

    /// Replaces a resource's data (and, for groups, the whole member list) if its version
    /// still equals `expected_version` (when given). Enqueues the resource's job and the jobs
    /// of members whose membership changed.
    pub async fn replace_resource(
        &self,
        w: &ResourceWrite<'_>,
        expected_version: Option<i64>,
    ) -> StoreResult<StoredResource> {
        self.replace_in(w, expected_version, None).await
    }

    /// A group PATCH that names the members it changes (`scim/patch/named_members.rs`):
    /// `w.members` lists those of `named` that are members after it; the group's other
    /// members are neither read nor written.
    pub async fn replace_named_members(
        &self,
        w: &ResourceWrite<'_>,
        named: &[String],
        expected_version: i64,
    ) -> StoreResult<StoredResource> {
        self.replace_in(w, Some(expected_version), Some(named))
            .await
    }

    async fn replace_in(
        &self,
        w: &ResourceWrite<'_>,
        expected_version: Option<i64>,
        named: Option<&[String]>,
    ) -> StoreResult<StoredResource> {
        if w.id.contains('\0') {
            // Names no resource, as a read of it finds nothing (`get_listed_resource`);
            // Postgres cannot bind it.
            return Err(StoreError::NotFound);
        }
        let d = derive(w.resource_type, w.data);
        let now = crate::clock::rfc3339_ms(w.now_ms);
        let rt = w.resource_type.as_str();
        if w.resource_type == ResourceType::User
            && w.members.is_none()
            && let Some(written) = self
                .replace_user_batched(w, &d, now.clone(), expected_version)
                .await?
        {
            return Ok(written);
        }
        with_writer!(self, p => {
            let mut tx = p.begin_write().await?;
            // A group's name is what connectors map to roles (Carbon Black's `group_roles`):
            // a rename re-syncs every member. The name replaced is read under the row's lock.
            let old_label: Option<Option<String>> = if w.resource_type == ResourceType::Group {
                let sql = format!(
                    "SELECT label FROM scim_resources WHERE target = $1 AND resource_type = 'Group' AND id = $2{}",
                    self.row_lock(" FOR UPDATE")
                );
                match sqlx::query(AssertSqlSafe(sql)).bind(w.target).bind(w.id).fetch_optional(&mut *tx).await? {
                    Some(r) => Some(r.try_get("label")?),
                    None => return Err(StoreError::NotFound),
                }
            } else {
                None
            };
            // One statement reads and bumps the version under the row's lock: a writer that
            // waited for another's commit sees the version that commit wrote, so a stale
            // `expected_version` is always a mismatch (a SELECT before the UPDATE let two
            // PATCHes of one version both write on Postgres, and the second lost the first).
            let res = sqlx::query(
                "UPDATE scim_resources SET external_id = $4, user_name_lc = $5, display_name_lc = $6, email_lc = $7, \
                 active = $8, label = $9, data = $10, version = version + 1, last_modified = $11 \
                 WHERE target = $1 AND resource_type = $2 AND id = $3 RETURNING version, created",
            )
            .bind(w.target).bind(rt).bind(w.id).bind(&d.external_id).bind(&d.user_name_lc)
            .bind(&d.display_name_lc).bind(&d.email_lc).bind(d.active).bind(&d.label)
            .bind(Json(w.data)).bind(&now)
            .fetch_optional(&mut *tx).await;
            let row = match res {
                Ok(Some(row)) => row,
                Ok(None) => return Err(StoreError::NotFound),
                Err(e) => {
                    // Rolled back on drop; the version is read as committed.
                    drop(tx);
                    return Err(self.precondition_first(w, uniqueness(e, w), expected_version).await);
                }
            };
            let version = row.try_get::<i64, _>("version")? - 1;
            let created: String = row.try_get("created")?;
            if let Some(ev) = expected_version && ev != version {
                return Err(StoreError::VersionMismatch { current: version });
            }
            if let Some(members) = w.members {
                let old = current_members_in!(tx, w.target, w.id, named);
                let ch = MemberChanges::between(&old, members);
                // Members the group already has are users: a user's DELETE removes its
                // memberships under the group's row lock, which this write holds.
                check_members!(&mut *tx, w.target, ch.added_ids(), self.row_lock(" FOR SHARE"));
                remove_members_in!(tx, self.dialect(), w.target, w.id, &ch.gone, w.now_ms);
                add_members_in!(tx, self.dialect(), w.target, w.id, &ch.added, w.now_ms);
                for m in &ch.redisplayed {
                    sqlx::query("UPDATE scim_group_members SET display = $4 WHERE target = $1 AND group_id = $2 AND member_id = $3")
                        .bind(w.target).bind(w.id).bind(&m.id).bind(&m.display).execute(&mut *tx).await?;
                }
            }
            if let Some(old_label) = old_label
                && old_label != d.label
            {
                enqueue_members_in!(&mut *tx, w.target, w.id, w.now_ms);
            }
            enqueue_in!(&mut *tx, w.target, rt, w.id, w.now_ms);
            record_accepted_in!(&mut *tx, w.target, rt, w.id, d.label.as_deref(), w.now_ms, w.method, version + 1);
            tx.commit().await?;
            Ok(StoredResource {
                id: w.id.to_string(),
                resource_type: w.resource_type,
                data: w.data.clone(),
                version: version + 1,
                created,
                last_modified: now,
                enrichment: None,
                links: None,
            })
        })
    }
}
