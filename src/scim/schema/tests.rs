use super::*;
use crate::scim::ResourceType::{Group, User};

#[test]
fn resolves_case_insensitively_to_canonical_names() {
    let r = resolve(User, None, "USERNAME", None).unwrap();
    assert_eq!(r.attr.name, "userName");
    assert_eq!(r.json_path, vec!["userName"]);
    let r = resolve(User, None, "name", Some("GIVENNAME")).unwrap();
    assert_eq!(r.json_path, vec!["name", "givenName"]);
    assert_eq!(r.leaf().name, "givenName");
}

#[test]
fn resolves_urn_qualified_and_extension_names() {
    let r = resolve(User, Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value")).unwrap();
    assert_eq!(
        r.json_path,
        vec![ENTERPRISE_USER_SCHEMA, "manager", "value"]
    );
    assert!(r.is_extension());
    let r = resolve(User, Some(&USER_SCHEMA.to_uppercase()), "userName", None).unwrap();
    assert_eq!(r.schema, USER_SCHEMA);
    // Unqualified and unambiguous extension attribute.
    let r = resolve(User, None, "costCenter", None).unwrap();
    assert_eq!(r.json_path, vec![ENTERPRISE_USER_SCHEMA, "costCenter"]);
    // Core wins over the abnormal `title`.
    assert_eq!(
        resolve(User, None, "title", None).unwrap().schema,
        USER_SCHEMA
    );
    // `department` is in two extensions: ambiguous.
    assert!(resolve(User, None, "department", None).is_none());
    let r = resolve(User, Some(ABNORMAL_USER_SCHEMA), "riskLevel", None).unwrap();
    assert!(r.is_abnormal());
    assert_eq!(r.attr.mutability, Mutability::ReadOnly);
}

#[test]
fn rejects_unknown_and_foreign_names() {
    assert!(resolve(User, None, "nope", None).is_none());
    assert!(resolve(User, None, "userName", Some("x")).is_none());
    assert!(resolve(User, None, "name", Some("value")).is_none());
    assert!(resolve(Group, None, "userName", None).is_none());
    assert!(resolve(Group, Some(ENTERPRISE_USER_SCHEMA), "department", None).is_none());
    assert!(resolve(User, Some("urn:x:y"), "userName", None).is_none());
}

#[test]
fn common_attributes_resolve_for_both_types() {
    for rt in [User, Group] {
        let id = resolve(rt, None, "id", None).unwrap();
        assert_eq!(id.attr.returned, Returned::Always);
        assert!(id.attr.case_exact);
        let m = resolve(rt, None, "meta", Some("lastModified")).unwrap();
        assert_eq!(m.leaf().ty, AttrType::DateTime);
        assert!(
            resolve(rt, None, "externalId", None)
                .unwrap()
                .attr
                .case_exact
        );
    }
}

#[test]
fn password_is_write_only_and_never_returned() {
    let p = resolve(User, None, "password", None).unwrap();
    assert_eq!(p.attr.mutability, Mutability::WriteOnly);
    assert_eq!(p.attr.returned, Returned::Never);
}

#[test]
fn split_urn_handles_prefixes() {
    let (sd, rest) = split_urn(
        User,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    )
    .unwrap();
    assert_eq!(sd.unwrap().id, ENTERPRISE_USER_SCHEMA);
    assert_eq!(rest, "manager.value");
    let (sd, rest) = split_urn(User, ENTERPRISE_USER_SCHEMA).unwrap();
    assert!(sd.is_some() && rest.is_empty());
    let (sd, rest) = split_urn(User, "name.givenName").unwrap();
    assert!(sd.is_none());
    assert_eq!(rest, "name.givenName");
    assert!(split_urn(User, "urn:unknown:thing:attr").is_err());
    assert!(
        split_urn(
            Group,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:x"
        )
        .is_err()
    );
    // A longer URN that merely starts with a known one is not that schema.
    assert!(split_urn(User, "urn:ietf:params:scim:schemas:core:2.0:UserX:a").is_err());
}

#[test]
fn schema_documents_describe_every_schema() {
    let docs = schema_documents("http://h/scim/v2/t1/");
    assert_eq!(docs.len(), 4);
    let user = schema_document(USER_SCHEMA, "http://h/scim/v2/t1").unwrap();
    assert_eq!(
        user["meta"]["location"],
        format!("http://h/scim/v2/t1/Schemas/{USER_SCHEMA}")
    );
    let attrs = user["attributes"].as_array().unwrap();
    let un = attrs.iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!(un["required"], true);
    assert_eq!(un["uniqueness"], "server");
    assert_eq!(un["caseExact"], false);
    let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
    assert_eq!(emails["multiValued"], true);
    assert!(
        emails["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "primary")
    );
    let ab = schema_document(ABNORMAL_USER_SCHEMA, "x").unwrap();
    for a in ab["attributes"].as_array().unwrap() {
        assert_eq!(a["mutability"], "readOnly", "{}", a["name"]);
        assert_eq!(a["returned"], "default");
    }
    assert_eq!(ab["attributes"].as_array().unwrap().len(), 10);
    assert!(schema_document("urn:nope", "x").is_none());
    let ent = schema_document(ENTERPRISE_USER_SCHEMA, "x").unwrap();
    let mgr = ent["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "manager")
        .unwrap();
    assert_eq!(mgr["subAttributes"].as_array().unwrap().len(), 3);
}
