//! Any string as a SCIM `filter` and as `sortBy`, compiled for the contexts the list endpoint
//! uses. Byte 0 picks the context: bit 0 the dialect (Postgres / SQLite), bit 1 the resource
//! type (User / Group), bit 2 the enrichment join (User only, as in list.rs); the rest is the
//! text. (Parsing dominates the cost, so one context per input runs ~8x faster than all.)
//! Errors are fine; a panic, a hang or runaway memory is not. The SQL that comes out is also
//! checked: its `$N` placeholders are exactly the binds, and its quotes and parentheses
//! balance (client text never reaches the SQL outside a bind), and the `userName eq "…"`
//! fast path gives the parser's tree whenever it takes an input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_bridge::scim::ResourceType;
use scim_bridge::scim::filter_sql::{FilterContext, compile_filter, compile_sort};
use scim_bridge::store::dialect::Dialect;
use scim_bridge::store::resources::ListQuery;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let resource_type = if sel & 2 == 0 {
        ResourceType::User
    } else {
        ResourceType::Group
    };
    // As in list.rs: only User lists join the enrichment cache.
    let enrichment_joined = sel & 4 != 0 && resource_type == ResourceType::User;
    let first = ListQuery::first_filter_placeholder(enrichment_joined);
    let ctx = FilterContext {
        dialect: if sel & 1 == 0 {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        },
        resource_type,
        enrichment_joined,
        first_placeholder: first,
    };
    scim_bridge::fuzzing::filter_fast_path_agrees(text);
    if let Ok(frag) = compile_filter(text, &ctx) {
        check_placeholders(&frag.sql, first, frag.binds.len());
        check_balanced(&frag.sql);
    }
    if let Ok(sql) = compile_sort(text, &ctx) {
        check_placeholders(&sql, first, 0);
        check_balanced(&sql);
    }
});

/// Every `$N` is in `first..first + binds`, and every bind is used.
fn check_placeholders(sql: &str, first: usize, binds: usize) {
    let mut used = vec![false; binds];
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let mut j = i + 1;
            let mut n = 0usize;
            while j < b.len() && b[j].is_ascii_digit() {
                n = n
                    .saturating_mul(10)
                    .saturating_add(usize::from(b[j] - b'0'));
                j += 1;
            }
            assert!(
                n >= first && n < first + binds,
                "placeholder ${n} outside ${first}..${} in {sql}",
                first + binds
            );
            used[n - first] = true;
            i = j;
        } else {
            i += 1;
        }
    }
    assert!(used.iter().all(|u| *u), "unused bind in {sql}");
}

/// Single quotes pair up, and parentheses balance outside quoted literals.
fn check_balanced(sql: &str) {
    let mut depth: i64 = 0;
    let mut quoted = false;
    for c in sql.chars() {
        match (c, quoted) {
            ('\'', _) => quoted = !quoted,
            ('(', false) => depth += 1,
            (')', false) => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced `)` in {sql}");
            }
            _ => {}
        }
    }
    assert!(!quoted, "unterminated quote in {sql}");
    assert_eq!(depth, 0, "unbalanced `(` in {sql}");
}
