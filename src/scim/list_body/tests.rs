use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::*;
use crate::scim::projection::{hidden_names, project};
use crate::scim::render::render;
use crate::scim::{GROUP_SCHEMA, USER_SCHEMA};

const BASE: &str = "https://bridge.example/scim/v2/contrast";

fn listed(rt: ResourceType, id: &str, data: &str, links: Option<MemberLinks>) -> ListedResource {
    ListedResource {
        id: id.into(),
        resource_type: rt,
        data: RawValue::from_string(data.into()).expect("valid JSON"),
        version: 7,
        created: "2026-01-02T03:04:05.000Z".into(),
        last_modified: "2026-02-03T04:05:06.000Z".into(),
        enrichment: None,
        links,
    }
}

type MemberLinks = crate::store::resources::MemberLinks;

/// What the tree renderer shows for `r` (no enrichment, no projection parameters).
fn tree(r: &ListedResource) -> Value {
    let mut s = r.clone().parse().expect("parses");
    let links = s.links.take();
    let mut body = render(s, BASE, links.as_ref(), false);
    project(r.resource_type, &mut body, None, None).expect("projects");
    Value::Object(body)
}

fn resources() -> Vec<ListedResource> {
    use ResourceType::{Group, User};
    vec![
        // Postgres's jsonb text: spaces after `:` and `,`.
        listed(
            User,
            "u1",
            &format!(
                r#"{{"name": {{"givenName": "Jane", "familyName": "Doe"}}, "active": true, "emails": [{{"type": "work", "value": "jane@example.com"}}], "schemas": ["{USER_SCHEMA}"], "userName": "jane@example.com"}}"#
            ),
            Some(vec![("g1".into(), Some("Eng".into())), ("g2".into(), None)]),
        ),
        // SQLite's text as serde_json wrote it; no groups; an id that needs escaping.
        listed(
            User,
            "u\"2\\é",
            &format!(r#"{{"schemas":["{USER_SCHEMA}"],"userName":"bob","title":"say \"hi\""}}"#),
            Some(vec![]),
        ),
        listed(
            Group,
            "g1",
            &format!(r#"{{"schemas": ["{GROUP_SCHEMA}"], "displayName": "Eng"}}"#),
            Some(vec![
                ("u1".into(), Some("Jane".into())),
                ("u2".into(), None),
            ]),
        ),
        // A group read without its members still shows `members: []`.
        listed(
            Group,
            "g2",
            &format!(r#" {{ "schemas": ["{GROUP_SCHEMA}"], "displayName": "Empty" }} "#),
            None,
        ),
    ]
}

#[test]
fn spliced_items_equal_the_tree_renderer() {
    for r in resources() {
        assert!(spliceable(&r), "{}", r.data.get());
        let page = ListPage {
            total: 1,
            start: 1,
            items: vec![ListItem::Spliced(Box::new(r.clone()))],
        };
        let got: Value =
            serde_json::from_slice(&page.to_json(BASE).expect("writes")).expect("JSON");
        assert_eq!(got["Resources"][0], tree(&r), "{}", r.data.get());
    }
}

#[test]
fn a_page_mixes_spliced_and_tree_items() {
    let rs = resources();
    let items = rs
        .iter()
        .enumerate()
        .map(|(n, r)| match (n % 2, tree(r)) {
            (0, _) => ListItem::Spliced(Box::new(r.clone())),
            (_, Value::Object(m)) => ListItem::Tree(m),
            _ => unreachable!(),
        })
        .collect();
    let page = ListPage {
        total: 42,
        start: 11,
        items,
    };
    let got: Value = serde_json::from_slice(&page.to_json(BASE).expect("writes")).expect("JSON");
    let want: Vec<Value> = rs.iter().map(tree).collect();
    assert_eq!(
        got,
        json!({
            "schemas": [crate::scim::LIST_RESPONSE_SCHEMA],
            "totalResults": 42,
            "startIndex": 11,
            "itemsPerPage": 4,
            "Resources": want,
        })
    );
}

#[test]
fn an_empty_page() {
    let page = ListPage {
        total: 0,
        start: 1,
        items: Vec::new(),
    };
    let got: Value = serde_json::from_slice(&page.to_json(BASE).expect("writes")).expect("JSON");
    assert_eq!(got["Resources"], json!([]));
    assert_eq!(got["itemsPerPage"], json!(0));
}

#[test]
fn what_is_not_spliced() {
    let hidden = hidden_names(ResourceType::User);
    assert!(hidden.contains(&"password"), "{hidden:?}");
    let user = |data: &str| listed(ResourceType::User, "u1", data, None);
    let s = format!(r#""schemas": ["{USER_SCHEMA}"]"#);
    // Keys the answer sets, or never shows: the tree renderer decides.
    for key in ["id", "meta", "groups", "members", "password"] {
        let r = user(&format!(r#"{{{s}, "userName": "a", "{key}": "x"}}"#));
        assert!(!spliceable(&r), "{key}");
    }
    // Without `schemas` the tree renderer adds the core schema.
    assert!(!spliceable(&user(r#"{"userName": "a"}"#)));
    // Not an object.
    assert!(!spliceable(&user(r#"["userName"]"#)));
    // A server key's name as a value is sent to the tree renderer too (a cost, not an error).
    assert!(!spliceable(&user(&format!(
        r#"{{{s}, "title": "groups"}}"#
    ))));
    // A name that only contains one is spliced.
    assert!(spliceable(&user(&format!(
        r#"{{{s}, "title": "my groups", "nickName": "identity"}}"#
    ))));
}
