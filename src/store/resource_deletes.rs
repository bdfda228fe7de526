//! SCIM resource deletes: the resource, its memberships (a deleted user's groups get a
//! new version), the jobs that converge the vendor to "absent", and the history event, in
//! one transaction. Creates and replaces are in `resources.rs`.

use sqlx::Row;

use super::group_members::member_sql;
use super::jobs::{enqueue_in, enqueue_members_in, record_accepted_in};
use super::write_tx::BeginWrite;
use super::write_tx::with_writer;
use super::{Store, StoreError, StoreResult};
use crate::scim::ResourceType;

impl Store {
    /// Deletes a resource and its memberships; the job converges the vendor to "absent".
    pub async fn delete_resource(
        &self,
        target: &str,
        rt: ResourceType,
        id: &str,
        expected_version: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let rts = rt.as_str();
        // Postgres: the row is locked while its version is checked, so a write committed
        // after the check cannot be deleted past `If-Match`.
        let lock = self.row_lock(" FOR UPDATE");
        with_writer!(self, p => {
            let mut tx = p.begin_write().await?;
            let cur = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT version, label FROM scim_resources WHERE target = $1 AND resource_type = $2 AND id = $3{lock}")))
                .bind(target).bind(rts).bind(id).fetch_optional(&mut *tx).await?;
            let Some(cur) = cur else { return Err(StoreError::NotFound) };
            let version: i64 = cur.try_get("version")?;
            let label: Option<String> = cur.try_get("label")?;
            if let Some(ev) = expected_version && ev != version {
                return Err(StoreError::VersionMismatch { current: version });
            }
            match rt {
                ResourceType::User => {
                    // Groups that lose this member must re-send their member lists.
                    // Their `members` change, so they get a new version: a PATCH that read a
                    // group before this commit is applied again to the group without this
                    // member, instead of writing the member back and being refused for it.
                    // The groups are locked in id order first (deletions sharing groups do
                    // not deadlock), then bumped and enqueued, and the memberships deleted
                    // (always, whatever the join found): four statements however many groups
                    // the user is in.
                    let groups: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT r.id FROM scim_resources r JOIN scim_group_members gm ON gm.target = r.target AND gm.group_id = r.id \
                         WHERE gm.target = $1 AND gm.member_id = $2 AND r.resource_type = 'Group' ORDER BY r.id{}",
                        self.row_lock(" FOR UPDATE OF r")
                    )))
                        .bind(target).bind(id).fetch_all(&mut *tx).await?
                        .iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?;
                    if !groups.is_empty() {
                        let now = crate::clock::rfc3339_ms(now_ms);
                        sqlx::query("UPDATE scim_resources SET version = version + 1, last_modified = $3 \
                                     WHERE target = $1 AND resource_type = 'Group' \
                                     AND id IN (SELECT group_id FROM scim_group_members WHERE target = $1 AND member_id = $2)")
                            .bind(target).bind(id).bind(&now).execute(&mut *tx).await?;
                        let ids = serde_json::to_string(&groups).unwrap_or_default();
                        sqlx::query(member_sql(self.dialect()).enqueue)
                            .bind(target).bind(&ids).bind(now_ms).bind("Group").execute(&mut *tx).await?;
                    }
                    sqlx::query("DELETE FROM scim_group_members WHERE target = $1 AND member_id = $2")
                        .bind(target).bind(id).execute(&mut *tx).await?;
                }
                ResourceType::Group => {
                    enqueue_members_in!(&mut *tx, target, id, now_ms);
                    sqlx::query("DELETE FROM scim_group_members WHERE target = $1 AND group_id = $2")
                        .bind(target).bind(id).execute(&mut *tx).await?;
                }
            }
            sqlx::query("DELETE FROM scim_resources WHERE target = $1 AND resource_type = $2 AND id = $3")
                .bind(target).bind(rts).bind(id).execute(&mut *tx).await?;
            enqueue_in!(&mut *tx, target, rts, id, now_ms);
            record_accepted_in!(&mut *tx, target, rts, id, label.as_deref(), now_ms, "DELETE", version);
            tx.commit().await?;
            Ok(())
        })
    }
}
