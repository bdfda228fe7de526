//! Unit tests of the generated SQL, both dialects.

use super::*;
use crate::scim::error::ScimType;
use crate::store::dialect::SqlValue;

fn ctx(d: Dialect, rt: ResourceType, joined: bool, first: usize) -> FilterContext {
    FilterContext {
        dialect: d,
        resource_type: rt,
        enrichment_joined: joined,
        first_placeholder: first,
    }
}
fn pg() -> FilterContext {
    ctx(Dialect::Postgres, ResourceType::User, false, 3)
}
fn lite() -> FilterContext {
    ctx(Dialect::Sqlite, ResourceType::User, false, 3)
}
fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}
fn err(f: &str, c: &FilterContext) -> ScimType {
    match compile_filter(f, c) {
        Err(ScimError::Client {
            scim_type: Some(t), ..
        }) => t,
        other => panic!("{f}: expected an error, got {other:?}"),
    }
}

#[test]
fn username_uses_the_lowercase_index_column() {
    for c in [pg(), lite()] {
        let f = compile_filter(r#"userName eq "Jane@Example.COM""#, &c).unwrap();
        assert_eq!(
            f.sql,
            "(r.user_name_lc IS NOT NULL AND r.user_name_lc = $3)"
        );
        assert_eq!(f.binds, vec![text("jane@example.com")]);
    }
    let f = compile_filter(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "X""#,
        &pg(),
    )
    .unwrap();
    assert_eq!(
        f.sql,
        "(r.user_name_lc IS NOT NULL AND r.user_name_lc = $3)"
    );
}

#[test]
fn indexed_columns() {
    let c = pg();
    let f = compile_filter(r#"externalId eq "AbC" and id eq "x""#, &c).unwrap();
    assert_eq!(
        f.sql,
        "((r.external_id IS NOT NULL AND r.external_id = $3) AND (r.id IS NOT NULL AND r.id = $4))"
    );
    assert_eq!(f.binds, vec![text("AbC"), text("x")]);
    let g = ctx(Dialect::Postgres, ResourceType::Group, false, 1);
    let f = compile_filter(r#"displayName eq "Admins""#, &g).unwrap();
    assert_eq!(
        f.sql,
        "(r.display_name_lc IS NOT NULL AND r.display_name_lc = $1)"
    );
    assert_eq!(f.binds, vec![text("admins")]);
    let f = compile_filter("active eq true", &c).unwrap();
    assert_eq!(f.sql, "COALESCE(r.active = $3, FALSE)");
    assert_eq!(f.binds, vec![SqlValue::Bool(true)]);
    let f = compile_filter(r#"meta.lastModified gt "2024-01-01T01:00:00+01:00""#, &c).unwrap();
    assert_eq!(f.sql, "COALESCE(r.last_modified > $3, FALSE)");
    assert_eq!(f.binds, vec![text("2024-01-01T00:00:00.000Z")]);
}

#[test]
fn json_attributes_per_dialect() {
    let f = compile_filter(r#"name.givenName eq "Jane""#, &pg()).unwrap();
    assert_eq!(
        f.sql,
        r#"COALESCE(lower((r.data #>> '{"name","givenName"}')) = $3, FALSE)"#
    );
    let f = compile_filter(r#"name.givenName eq "Jane""#, &lite()).unwrap();
    assert_eq!(
        f.sql,
        r#"COALESCE(lower(json_extract(r.data, '$."name"."givenName"')) = $3, FALSE)"#
    );
    let f = compile_filter(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "M1""#,
        &pg(),
    )
    .unwrap();
    assert_eq!(
        f.sql,
        r#"COALESCE(lower((r.data #>> '{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","manager","value"}')) = $3, FALSE)"#
    );
}

#[test]
fn value_paths_and_multi_valued() {
    let f = compile_filter(r#"emails[type eq "work" and value co "@x"]"#, &pg()).unwrap();
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.data #> '{\"emails\"}') = 'array' \
         THEN (r.data #> '{\"emails\"}') ELSE '[]'::jsonb END) AS e(v) WHERE (COALESCE(lower((e.v #>> '{\"type\"}')) = $3, FALSE) \
         AND COALESCE(lower((e.v #>> '{\"value\"}')) LIKE $4 ESCAPE '\\', FALSE)))"
    );
    assert_eq!(f.binds, vec![text("work"), text("%@x%")]);
    let f = compile_filter(r#"emails.value ew "X.com""#, &lite()).unwrap();
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(r.data, '$.\"emails\"') = 'array' THEN \
         json_extract(r.data, '$.\"emails\"') ELSE '[]' END) AS e WHERE COALESCE(lower(json_extract(e.value, '$.\"value\"')) LIKE $3 ESCAPE '\\', FALSE))"
    );
    assert_eq!(f.binds, vec![text("%x.com")]);
    // Comparing the complex attribute compares its `value`.
    let a = compile_filter(r#"emails co "@x""#, &lite()).unwrap();
    let b = compile_filter(r#"emails.value co "@x""#, &lite()).unwrap();
    assert_eq!(a, b);
    let f = compile_filter("emails pr", &lite()).unwrap();
    assert_eq!(
        f.sql,
        "COALESCE(json_array_length(r.data, '$.\"emails\"') > 0, FALSE)"
    );
}

#[test]
fn membership_uses_the_members_table() {
    let f = compile_filter(r#"groups.value eq "g1""#, &pg()).unwrap();
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.target = r.target AND gm.member_id = r.id AND (gm.group_id IS NOT NULL AND gm.group_id = $3))"
    );
    let a = compile_filter(r#"groups eq "g1""#, &pg()).unwrap();
    assert_eq!(a, f);
    let g = ctx(Dialect::Sqlite, ResourceType::Group, false, 1);
    let f = compile_filter(r#"members[value eq "u1"]"#, &g).unwrap();
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.target = r.target AND gm.group_id = r.id AND (gm.member_id IS NOT NULL AND gm.member_id = $1))"
    );
    assert_eq!(
        err(r#"groups.display eq "x""#, &pg()),
        ScimType::InvalidFilter
    );
}

#[test]
fn abnormal_attributes() {
    let q = r#"urn:scim-bridge:schemas:extension:abnormal:2.0:User:riskLevel eq "High""#;
    assert_eq!(compile_filter(q, &pg()).unwrap().sql, "FALSE");
    let n = compile_filter(&format!("not ({q})"), &lite()).unwrap();
    assert_eq!(n.sql, "(NOT FALSE)");
    assert!(n.binds.is_empty());
    let j = ctx(Dialect::Postgres, ResourceType::User, true, 4);
    let f = compile_filter(q, &j).unwrap();
    assert_eq!(f.sql, "COALESCE(lower(en.risk_level) = $4, FALSE)");
    assert_eq!(f.binds, vec![text("high")]);
    let f = compile_filter("riskScore pr and openCaseCount ge 2", &j).unwrap();
    assert_eq!(
        f.sql,
        "(COALESCE(en.risk_score <> '', FALSE) AND COALESCE(en.open_case_count >= CAST($4 AS BIGINT), FALSE))"
    );
    assert_eq!(f.binds, vec![SqlValue::Int(2)]);
    let f = compile_filter(r#"cases[severity eq "high"]"#, &j).unwrap();
    assert!(
        f.sql.contains(
            "jsonb_array_elements(CASE WHEN jsonb_typeof((en.cases::jsonb) #> '{}') = 'array'"
        ),
        "{}",
        f.sql
    );
}

#[test]
fn null_ne_and_not() {
    let f = compile_filter(r#"title eq null"#, &lite()).unwrap();
    assert_eq!(
        f.sql,
        "(NOT COALESCE(json_extract(r.data, '$.\"title\"') <> '', FALSE))"
    );
    let f = compile_filter(r#"title ne "x""#, &lite()).unwrap();
    assert_eq!(
        f.sql,
        "(NOT COALESCE(lower(json_extract(r.data, '$.\"title\"')) = $3, FALSE))"
    );
    assert_eq!(err("title gt null", &lite()), ScimType::InvalidFilter);
}

#[test]
fn like_and_glob_escaping() {
    let f = compile_filter(r#"nickName co "50%_a\\b""#, &pg()).unwrap();
    assert_eq!(f.binds, vec![text(r"%50\%\_a\\b%")]);
    // caseExact substring on SQLite uses GLOB (LIKE would ignore case).
    let f = compile_filter(r#"externalId sw "A*b?[""#, &lite()).unwrap();
    assert_eq!(f.sql, "COALESCE(r.external_id GLOB $3, FALSE)");
    assert_eq!(f.binds, vec![text("A[*]b[?][[]*")]);
    let f = compile_filter(r#"externalId sw "A%""#, &pg()).unwrap();
    assert_eq!(f.sql, "COALESCE(r.external_id LIKE $3 ESCAPE '\\', FALSE)");
    assert_eq!(f.binds, vec![text("A\\%%")]);
}

#[test]
fn values_are_never_spliced() {
    let evil = r#"userName eq "x' OR 1=1; DROP TABLE scim_resources; --" or name.givenName co "'""#;
    for c in [pg(), lite()] {
        let f = compile_filter(evil, &c).unwrap();
        assert!(!f.sql.contains("DROP"), "{}", f.sql);
        assert!(!f.sql.contains("1=1"));
        assert_eq!(f.binds.len(), 2);
    }
}

#[test]
fn client_mistakes_are_invalid_filter() {
    let c = pg();
    for bad in [
        "",
        "userName eq",
        "nope eq \"x\"",
        "active gt true",
        "active co \"t\"",
        "name eq \"x\"",
        "userName eq 5",
        "meta.created gt \"yesterday\"",
        "meta.version eq \"x\"",
        "password eq \"x\"",
        "urn:acme:x:User:foo eq \"x\"",
        "department eq \"x\"",
        "emails[nope eq \"x\"]",
        "userName[value eq \"x\"]",
        "emails[type.value eq \"x\"]",
    ] {
        assert_eq!(err(bad, &c), ScimType::InvalidFilter, "{bad}");
    }
    let g = ctx(Dialect::Postgres, ResourceType::Group, false, 1);
    assert_eq!(err(r#"userName eq "x""#, &g), ScimType::InvalidFilter);
    let j = ctx(Dialect::Postgres, ResourceType::User, true, 4);
    assert_eq!(err("openCaseCount co 1", &j), ScimType::InvalidFilter);
    assert_eq!(err("isVip gt true", &j), ScimType::InvalidFilter);
}

#[test]
fn hostile_filters_do_not_panic() {
    let c = lite();
    let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
    assert_eq!(err(&long, &c), ScimType::InvalidFilter);
    let deep = format!("{}userName pr{}", "not (".repeat(200), ")".repeat(200));
    assert_eq!(err(&deep, &c), ScimType::InvalidFilter);
    let many = vec!["userName pr"; 1100].join(" or ");
    assert_eq!(err(&many, &c), ScimType::InvalidFilter);
    let ok = vec![r#"id eq "x""#; 100].join(" or ");
    assert_eq!(compile_filter(&ok, &c).unwrap().binds.len(), 100);
    let f = compile_filter("name.givenName gt \"\u{10FFFF}\"", &c).unwrap();
    assert_eq!(f.binds.len(), 1);
}

#[test]
fn sort_expressions() {
    assert_eq!(compile_sort("userName", &pg()).unwrap(), "r.user_name_lc");
    assert_eq!(compile_sort("meta.created", &lite()).unwrap(), "r.created");
    assert_eq!(
        compile_sort("name.familyName", &pg()).unwrap(),
        r#"lower((r.data #>> '{"name","familyName"}'))"#
    );
    assert_eq!(
        compile_sort("emails", &pg()).unwrap(),
        r#"lower((r.data #>> '{"emails","0","value"}'))"#
    );
    assert_eq!(
        compile_sort("riskLevel", &pg()).unwrap(),
        "CAST(NULL AS TEXT)"
    );
    for bad in ["nope", "groups", "name", "emails[type eq \"x\"]", "a b"] {
        match compile_sort(bad, &pg()) {
            Err(ScimError::Client {
                scim_type: Some(ScimType::InvalidValue),
                ..
            }) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn nul_in_a_filter_value_is_invalid_filter() {
    // Fuzz finding (fuzz/regressions/filter_exec/pg-nul-in-value): Postgres refused the bind
    // ("invalid byte sequence for encoding UTF8: 0x00"), a 500.
    for f in [
        r#"userName eq "\u0000""#,
        "userName eq \"a\u{0}\"",
        r#"members[value eq "\u0000"]"#,
        r#"emails co "x\u0000""#,
    ] {
        let c = ctx(Dialect::Postgres, ResourceType::User, false, 3);
        let c = if f.starts_with("members") {
            ctx(Dialect::Postgres, ResourceType::Group, false, 3)
        } else {
            c
        };
        assert_eq!(err(f, &c), ScimType::InvalidFilter, "{f}");
    }
}

/// The userName lookup skips `compile_filter` when `simple_eq_compiles` says it would
/// succeed (`scim/list.rs`); the two must agree on every filter the fast path takes, on
/// Users, in both dialects. (The `filter` fuzz target checks the same on its inputs.)
#[test]
fn simple_eq_compiles_as_compile_filter_does() {
    let long = "a".repeat(MAX_FILTER_LEN);
    let values = [
        r#""jane@corp.example""#,
        r#""""#,
        r#""J\u00f6rg \"q\" \\""#,
        r#""nul\u0000inside""#,
        r#""\u0000""#,
        "\"Jörg\"",
        &format!("\"{long}\""),
        &format!("\"{}\"", &long[..MAX_FILTER_LEN - 20]),
    ];
    let mut taken = 0;
    for name in ["userName", "USERNAME", "externalId", "displayName", "id"] {
        for v in values {
            let f = format!("{name} eq {v}");
            let Some(Filter::Attr(AttrExp::Comparison(_, _, CompValue::Str(value)))) =
                simple_eq(&f)
            else {
                panic!("fast path should take {f}");
            };
            taken += 1;
            for c in [pg(), lite()] {
                assert_eq!(
                    simple_eq_compiles(&f, &value),
                    compile_filter(&f, &c).is_ok(),
                    "{}",
                    clip(&f)
                );
            }
        }
    }
    assert_eq!(taken, 40);
}
