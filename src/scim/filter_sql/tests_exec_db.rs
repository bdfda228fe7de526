//! The databases the execution tests run on: the schema's rows (`tests_data.rs`) seeded into
//! SQLite or Postgres, and one compiled filter (with an optional sort) run against them.

use sqlx::Row;

use super::tests_data::{enrichment, rows};
use super::*;
use crate::store::dialect::{bind_pg, bind_sqlite};

pub(super) enum Db {
    Pg(sqlx::PgPool),
    Lite(sqlx::SqlitePool),
}

const INSERT: &str = "INSERT INTO scim_resources (target, resource_type, id, external_id, user_name_lc, display_name_lc, \
    email_lc, active, data, version, created, last_modified) VALUES ('t1', $1, $2, $3, $4, $5, $6, $7, DATA, 1, $8, $8)";
const ENRICH: &str = "INSERT INTO enrichment_accounts (source, email_lc, risk_score, risk_level, compromised_since, is_vip, \
    open_case_count, cases) VALUES ('ab', $1, $2, $3, $4, $5, $6, $7)";

pub(super) async fn seed(db: &Db) {
    let members = [
        ("g1", "u01"),
        ("g1", "u02"),
        ("g2", "u01"),
        ("g2", "u02"),
        ("g2", "u03"),
        ("g2", "u04"),
        ("g2", "u05"),
    ];
    // The same rows into either database: only the pool type, the schema and the JSON
    // column's cast differ.
    macro_rules! seed_into {
        ($p:expr, $schema:expr, $data:expr) => {{
            sqlx::raw_sql($schema).execute($p).await.unwrap();
            for r in rows() {
                sqlx::query(sqlx::AssertSqlSafe(INSERT.replace("DATA", $data)))
                    .bind(r.rt)
                    .bind(r.id)
                    .bind(r.external_id)
                    .bind(r.user_name_lc)
                    .bind(r.display_name_lc)
                    .bind(r.email_lc)
                    .bind(r.active)
                    .bind(r.created)
                    .bind(r.data)
                    .execute($p)
                    .await
                    .unwrap();
            }
            for (g, m) in members {
                sqlx::query("INSERT INTO scim_group_members (target, group_id, member_id) VALUES ('t1', $1, $2)")
                    .bind(g)
                    .bind(m)
                    .execute($p)
                    .await
                    .unwrap();
            }
            for e in enrichment() {
                sqlx::query(ENRICH)
                    .bind(e.0)
                    .bind(e.1)
                    .bind(e.2)
                    .bind(e.3)
                    .bind(e.4)
                    .bind(e.5)
                    .bind(e.6)
                    .execute($p)
                    .await
                    .unwrap();
            }
        }};
    }
    match db {
        Db::Lite(p) => seed_into!(
            p,
            include_str!("../../../migrations/sqlite/0001_init.sql"),
            "$9"
        ),
        Db::Pg(p) => seed_into!(
            p,
            include_str!("../../../migrations/postgres/0001_init.sql"),
            "$9::jsonb"
        ),
    }
}

pub(super) async fn query(
    db: &Db,
    rt: ResourceType,
    joined: bool,
    filter: &str,
    sort: Option<&str>,
) -> Vec<String> {
    let dialect = match db {
        Db::Pg(_) => Dialect::Postgres,
        Db::Lite(_) => Dialect::Sqlite,
    };
    let ctx = FilterContext {
        dialect,
        resource_type: rt,
        enrichment_joined: joined,
        first_placeholder: if joined { 4 } else { 3 },
    };
    let frag = compile_filter(filter, &ctx).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let join = if joined {
        "LEFT JOIN enrichment_accounts en ON en.source = $3 AND en.email_lc = r.email_lc "
    } else {
        ""
    };
    let order = match sort {
        Some(s) => format!("{}, r.id", compile_sort(s, &ctx).unwrap()),
        None => "r.id".to_string(),
    };
    let sql = format!(
        "SELECT r.id FROM scim_resources r {join}WHERE r.target = $1 AND r.resource_type = $2 AND ({}) ORDER BY {order}",
        frag.sql
    );
    // One query on either pool: only the pool type and the bind helper differ.
    macro_rules! ids_from {
        ($p:expr, $bind:ident) => {{
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind("t1")
                .bind(rt.as_str());
            if joined {
                q = q.bind("ab");
            }
            $bind(q, &frag.binds).fetch_all($p).await.map(|rows| {
                rows.iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect::<Vec<_>>()
            })
        }};
    }
    let rows = match db {
        Db::Pg(p) => ids_from!(p, bind_pg),
        Db::Lite(p) => ids_from!(p, bind_sqlite),
    };
    rows.unwrap_or_else(|e| panic!("{filter}: {e}\n{sql}"))
}
