//! A filter and a sortBy compiled and run as the list endpoint's real query on a seeded
//! database: SQLite always, and Postgres when `FUZZ_DATABASE_URL` is set (a schema
//! `scimtest_fuzz_<pid>` is made there). Byte 0: bit 0 Postgres (when available), bit 1 Group,
//! bit 2 the enrichment join, bit 3 descending. The rest: the filter up to the first newline
//! (empty = none), then the sortBy (absent = none).
//!
//! Findings: the database rejects SQL the compiler produced (a 500 for the client); a filter
//! F and `not (F)` do not split the resources in two (every leaf is a non-NULL boolean, see
//! filter_sql); a descending sort is not the exact reverse of the ascending one. The store
//! keeps one connection, so each input also meets the statements earlier inputs prepared
//! (sqlx caches them by SQL text), as a long-lived server connection does.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scim_bridge::fuzzing::{ListOutcome, SqlList};
use scim_bridge::scim::ResourceType;

fn dbs() -> &'static Vec<SqlList> {
    static DBS: OnceLock<Vec<SqlList>> = OnceLock::new();
    DBS.get_or_init(|| {
        let pid = std::process::id();
        let path = std::env::temp_dir().join(format!("scim-bridge-fuzz-{pid}.db"));
        let mut dbs = vec![SqlList::sqlite(&path).unwrap_or_else(|e| panic!("SQLite: {e}"))];
        if let Ok(url) = std::env::var("FUZZ_DATABASE_URL") {
            let schema = format!("scimtest_fuzz_{pid}");
            dbs.push(SqlList::postgres(&url, &schema).unwrap_or_else(|e| panic!("Postgres: {e}")));
        }
        dbs
    })
}

fn list(
    db: &SqlList,
    rt: ResourceType,
    enriched: bool,
    filter: Option<&str>,
    sort: Option<&str>,
    desc: bool,
) -> Option<Vec<String>> {
    match db.list(rt, enriched, filter, sort, desc) {
        Ok(ListOutcome::Listed(ids)) => Some(ids),
        Ok(ListOutcome::Rejected) => None,
        Err(e) => {
            panic!("database refused compiled SQL: {e}\nfilter: {filter:?}\nsortBy: {sort:?}")
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let dbs = dbs();
    let db = &dbs[usize::from(sel & 1) % dbs.len()];
    let rt = if sel & 2 == 0 {
        ResourceType::User
    } else {
        ResourceType::Group
    };
    let enriched = sel & 4 != 0;
    let desc = sel & 8 != 0;
    let (filter, sort) = match text.split_once('\n') {
        Some((f, s)) => (f, Some(s)),
        None => (text, None),
    };
    let filter = (!filter.is_empty()).then_some(filter);
    let Some(ids) = list(db, rt, enriched, filter, sort, desc) else {
        return;
    };
    let all: BTreeSet<String> = list(db, rt, enriched, None, None, false)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let got: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(got.len(), ids.len(), "duplicate ids in {ids:?}");
    assert!(
        got.is_subset(&all),
        "ids outside the resource type: {ids:?}"
    );
    if let Some(f) = filter {
        let negated = format!("not ({f})");
        if let Some(neg) = list(db, rt, enriched, Some(&negated), None, false) {
            let neg: BTreeSet<String> = neg.into_iter().collect();
            assert!(
                got.is_disjoint(&neg),
                "F and not (F) both match: {got:?} / {neg:?}"
            );
            let union: BTreeSet<String> = got.union(&neg).cloned().collect();
            assert_eq!(union, all, "F or not (F) misses resources");
        }
    }
    if sort.is_some() {
        let mut other = list(db, rt, enriched, filter, sort, !desc).unwrap_or_default();
        other.reverse();
        assert_eq!(other, ids, "descending is not the reverse of ascending");
    }
});
