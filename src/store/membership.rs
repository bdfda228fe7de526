//! Group membership reads: a group's members, a user's groups. Membership has one source of
//! truth, `scim_group_members` (writes happen in `resources.rs`, inside the resource's
//! transaction).

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreResult, with_pool};

impl Store {
    /// Member ids and labels of the given groups.
    pub async fn members_of(
        &self,
        target: &str,
        group_ids: &[String],
    ) -> StoreResult<HashMap<String, Vec<(String, Option<String>)>>> {
        self.memberships(target, group_ids, true).await
    }

    /// Group ids and labels of the given users.
    pub async fn groups_of(
        &self,
        target: &str,
        user_ids: &[String],
    ) -> StoreResult<HashMap<String, Vec<(String, Option<String>)>>> {
        self.memberships(target, user_ids, false).await
    }

    async fn memberships(
        &self,
        target: &str,
        ids: &[String],
        by_group: bool,
    ) -> StoreResult<HashMap<String, Vec<(String, Option<String>)>>> {
        let mut out: HashMap<String, Vec<(String, Option<String>)>> = HashMap::new();
        // Group members show the display the client sent; a user's groups show the group's name.
        let (key, other, label) = if by_group {
            ("group_id", "member_id", "gm.display")
        } else {
            ("member_id", "group_id", "r.label")
        };
        for chunk in ids.chunks(500) {
            if chunk.is_empty() {
                continue;
            }
            let ph: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT gm.{key} AS k, gm.{other} AS o, {label} AS label FROM scim_group_members gm \
                 JOIN scim_resources r ON r.target = gm.target AND r.id = gm.{other} \
                 WHERE gm.target = $1 AND gm.{key} IN ({}) ORDER BY gm.{other}",
                ph.join(", ")
            );
            let rows = with_pool!(self, p => {
                let mut q = sqlx::query(AssertSqlSafe(sql.clone())).bind(target);
                for id in chunk {
                    q = q.bind(id);
                }
                let mut v = Vec::new();
                for row in q.fetch_all(p).await? {
                    v.push((row.try_get::<String, _>("k")?, row.try_get::<String, _>("o")?, row.try_get::<Option<String>, _>("label")?));
                }
                v
            });
            for (k, o, label) in rows {
                out.entry(k).or_default().push((o, label));
            }
        }
        Ok(out)
    }
}
