//! Group membership writes inside a group's replace transaction, and the read a PATCH
//! naming members by value needs (`scim/patch/named_members.rs`): the group's row and, of
//! its members, only those named. A member add to a group of 100k users reads and writes
//! the one member, not the 100k.

use std::collections::HashMap;

use serde_json::value::RawValue;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};

use super::in_list_batch::placeholders;
use super::resource_reads::{ListedResource, row_to_resource, select_list};
use super::resources::StoredResource;
use super::{Dialect, Store, StoreError, StoreResult, with_pool};
use crate::scim::ResourceType;

/// Ids per IN-list in membership statements.
pub(super) const IDS_PER_STATEMENT: usize = 500;

impl Store {
    /// A group without its member list, and with those of `named` that are its members (as
    /// `links`, ordered by id; members whose user is gone are left out, as in every read).
    /// Two statements: a writer between them changes the group's version, which the write
    /// checks.
    pub async fn group_with_named_members(
        &self,
        target: &str,
        id: &str,
        named: &[String],
    ) -> StoreResult<Option<StoredResource>> {
        if id.contains('\0') {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {} FROM scim_resources r WHERE r.target = $1 AND r.resource_type = 'Group' AND r.id = $2",
            select_list(false, None)
        );
        let row = with_pool!(self, p => {
            match sqlx::query(AssertSqlSafe(sql.clone())).bind(target).bind(id).fetch_optional(p).await? {
                Some(row) => Some(row_to_resource!(row, false, false)),
                None => None,
            }
        });
        let Some(row) = row else { return Ok(None) };
        let mut group = ListedResource::parse(row)?;
        let mut named: Vec<&String> = named.iter().filter(|n| !n.contains('\0')).collect();
        named.sort();
        named.dedup();
        let mut links = Vec::new();
        for chunk in named.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT gm.member_id AS o, gm.display AS label FROM scim_group_members gm \
                 JOIN scim_resources r ON r.target = gm.target AND r.id = gm.member_id \
                 WHERE gm.target = $1 AND gm.group_id = $2 AND gm.member_id IN ({}) ORDER BY gm.member_id",
                placeholders(3, chunk.len())
            );
            let rows = with_pool!(self, p => {
                let mut q = sqlx::query(AssertSqlSafe(sql.clone())).bind(target).bind(id);
                for m in chunk {
                    q = q.bind(*m);
                }
                let mut v = Vec::new();
                for row in q.fetch_all(p).await? {
                    v.push((row.try_get::<String, _>("o")?, row.try_get::<Option<String>, _>("label")?));
                }
                v
            });
            links.extend(rows);
        }
        group.links = Some(links);
        Ok(Some(group))
    }
}

/// The members a group has now, as `member_id → display`: all of them, or only those of
/// `named` (a PATCH that names the members it changes). Inside the write transaction, under
/// the group's row lock.
macro_rules! current_members_in {
    ($conn:expr, $target:expr, $group:expr, $named:expr) => {{
        let mut old: std::collections::HashMap<String, Option<String>> = std::collections::HashMap::new();
        match $named {
            None => {
                for r in sqlx::query("SELECT member_id, display FROM scim_group_members WHERE target = $1 AND group_id = $2")
                    .bind($target).bind($group).fetch_all(&mut *$conn).await?
                {
                    old.insert(r.try_get("member_id")?, r.try_get("display")?);
                }
            }
            Some(named) => {
                for chunk in named.chunks($crate::store::group_members::IDS_PER_STATEMENT) {
                    let sql = format!(
                        "SELECT member_id, display FROM scim_group_members WHERE target = $1 AND group_id = $2 AND member_id IN ({})",
                        $crate::store::in_list_batch::placeholders(3, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind($target).bind($group);
                    for m in chunk {
                        q = q.bind(m);
                    }
                    for r in q.fetch_all(&mut *$conn).await? {
                        old.insert(r.try_get("member_id")?, r.try_get("display")?);
                    }
                }
            }
        }
        old
    }};
}
pub(super) use current_members_in;

/// SQL of the batched membership statements: the ids (or `{"id", "display"}` objects) go
/// in as one JSON array, so a group of thousands costs two statements, not two per member.
pub(super) struct MemberSql {
    pub insert_rows: &'static str,
    pub delete_rows: &'static str,
    /// Upserts the jobs of the ids in `$2` (resources of type `$4`) at time `$3`.
    pub enqueue: &'static str,
}

/// The upsert of a job row (as `jobs.rs`'s `enqueue_in!`), `$3` the time.
macro_rules! job_upsert {
    () => {
        "ON CONFLICT (target, resource_type, resource_id) DO UPDATE \
         SET generation = sync_jobs.generation + 1, run_after = $3, attempts = 0"
    };
}

pub(super) fn member_sql(dialect: Dialect) -> MemberSql {
    match dialect {
        Dialect::Postgres => MemberSql {
            insert_rows: "INSERT INTO scim_group_members (target, group_id, member_id, display) \
                 SELECT $1, $2, m->>'id', m->>'display' FROM json_array_elements($3::json) AS m \
                 ON CONFLICT DO NOTHING",
            delete_rows: "DELETE FROM scim_group_members WHERE target = $1 AND group_id = $2 \
                 AND member_id IN (SELECT json_array_elements_text($3::json))",
            enqueue: concat!(
                "INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at) \
                 SELECT $1, $4, u, 1, $3, 0, $3 FROM json_array_elements_text($2::json) AS u ",
                job_upsert!()
            ),
        },
        Dialect::Sqlite => MemberSql {
            insert_rows: "INSERT INTO scim_group_members (target, group_id, member_id, display) \
                 SELECT $1, $2, json_extract(value, '$.id'), json_extract(value, '$.display') \
                 FROM json_each($3) WHERE true ON CONFLICT DO NOTHING",
            delete_rows: "DELETE FROM scim_group_members WHERE target = $1 AND group_id = $2 \
                 AND member_id IN (SELECT value FROM json_each($3))",
            enqueue: concat!(
                "INSERT INTO sync_jobs (target, resource_type, resource_id, generation, run_after, attempts, enqueued_at) \
                 SELECT $1, $4, value, 1, $3, 0, $3 FROM json_each($2) WHERE true ",
                job_upsert!()
            ),
        },
    }
}

/// Adds membership rows for `$added` (`&[&MemberInput]`, sorted by id: concurrent writes
/// lock member jobs in one order) and enqueues those users' jobs.
macro_rules! add_members_in {
    ($conn:expr, $dialect:expr, $target:expr, $group:expr, $added:expr, $now:expr) => {{
        let added: &[&$crate::store::resources::MemberInput] = $added;
        if !added.is_empty() {
            let sql = $crate::store::group_members::member_sql($dialect);
            let rows = serde_json::Value::Array(
                added.iter().map(|m| serde_json::json!({"id": m.id, "display": m.display})).collect(),
            ).to_string();
            let ids = serde_json::Value::Array(
                added.iter().map(|m| serde_json::Value::String(m.id.clone())).collect(),
            ).to_string();
            sqlx::query(sql.insert_rows).bind($target).bind($group).bind(&rows).execute(&mut *$conn).await?;
            sqlx::query(sql.enqueue).bind($target).bind(&ids).bind($now).bind("User").execute(&mut *$conn).await?;
        }
    }};
}
pub(super) use add_members_in;

/// Removes the membership rows of `$gone` (`&[String]`, sorted) and enqueues those users'
/// jobs.
macro_rules! remove_members_in {
    ($conn:expr, $dialect:expr, $target:expr, $group:expr, $gone:expr, $now:expr) => {{
        let gone: &[String] = $gone;
        if !gone.is_empty() {
            let sql = $crate::store::group_members::member_sql($dialect);
            let ids = serde_json::to_string(gone).unwrap_or_default();
            sqlx::query(sql.delete_rows)
                .bind($target)
                .bind($group)
                .bind(&ids)
                .execute(&mut *$conn)
                .await?;
            sqlx::query(sql.enqueue)
                .bind($target)
                .bind(&ids)
                .bind($now)
                .bind("User")
                .execute(&mut *$conn)
                .await?;
        }
    }};
}
pub(super) use remove_members_in;

/// What a write's member list changes against the current members (`old`, all of the
/// group's or only those a PATCH named): ids to add (users to check), ids gone, and the
/// members whose `display` changed.
pub(super) struct MemberChanges<'a> {
    pub added: Vec<&'a super::resources::MemberInput>,
    pub gone: Vec<String>,
    pub redisplayed: Vec<&'a super::resources::MemberInput>,
}

impl<'a> MemberChanges<'a> {
    /// Sorted by id: concurrent writes lock member rows and member jobs in one order.
    pub(super) fn between(
        old: &HashMap<String, Option<String>>,
        members: &'a [super::resources::MemberInput],
    ) -> Self {
        let new: HashMap<&String, &Option<String>> =
            members.iter().map(|m| (&m.id, &m.display)).collect();
        let mut gone: Vec<String> = old
            .keys()
            .filter(|m| !new.contains_key(m))
            .cloned()
            .collect();
        gone.sort();
        let mut members: Vec<&super::resources::MemberInput> = members.iter().collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let (mut added, mut redisplayed) = (Vec::new(), Vec::new());
        for m in members {
            match old.get(&m.id) {
                None => added.push(m),
                Some(d) if *d != m.display => redisplayed.push(m),
                Some(_) => {}
            }
        }
        MemberChanges {
            added,
            gone,
            redisplayed,
        }
    }

    pub(super) fn added_ids(&self) -> Vec<String> {
        self.added.iter().map(|m| m.id.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::resources::MemberInput;

    fn m(id: &str, display: Option<&str>) -> MemberInput {
        MemberInput {
            id: id.into(),
            display: display.map(str::to_owned),
        }
    }

    #[test]
    fn changes_against_the_current_members() {
        let old: HashMap<String, Option<String>> = [
            ("b".to_string(), Some("Bee".to_string())),
            ("c".to_string(), None),
            ("a".to_string(), None),
        ]
        .into();
        let new = [
            m("d", None),
            m("b", Some("B")),
            m("a", None),
            m("e", Some("E")),
        ];
        let ch = MemberChanges::between(&old, &new);
        assert_eq!(ch.added_ids(), vec!["d", "e"]);
        assert_eq!(ch.gone, vec!["c"]);
        let re: Vec<&str> = ch.redisplayed.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(re, vec!["b"]);
    }
}
