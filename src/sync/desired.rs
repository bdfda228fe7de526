//! Desired state: the vendor-neutral view of a SCIM resource that connectors converge to.

use serde_json::{Map, Value};

use crate::connectors::{DesiredGroup, DesiredUser, MemberRef};
use crate::store::resources::primary_email;

fn s(data: &Map<String, Value>, key: &str) -> Option<String> {
    data.get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn primary_value(data: &Map<String, Value>, key: &str) -> Option<String> {
    let arr = data.get(key)?.as_array()?;
    arr.iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| arr.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Builds the desired user from canonical SCIM JSON and the labels of its groups.
pub fn desired_user(id: &str, data: &Map<String, Value>, groups: Vec<String>) -> DesiredUser {
    let user_name = s(data, "userName").unwrap_or_default();
    let name = data.get("name").and_then(Value::as_object);
    let email = primary_email(data)
        .map(str::to_owned)
        .or_else(|| user_name.contains('@').then(|| user_name.clone()));
    let mut roles: Vec<(bool, String)> = data
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    let v = r.get("value").and_then(Value::as_str)?;
                    let primary = r.get("primary").and_then(Value::as_bool) == Some(true);
                    Some((primary, v.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    // Primary first, otherwise keep the IdP's order.
    roles.sort_by_key(|(p, _)| !*p);
    DesiredUser {
        scim_id: id.to_owned(),
        user_name,
        given_name: name.and_then(|n| s(n, "givenName")),
        family_name: name.and_then(|n| s(n, "familyName")),
        display_name: s(data, "displayName"),
        email,
        phone: primary_value(data, "phoneNumbers"),
        active: data.get("active").and_then(Value::as_bool).unwrap_or(true),
        roles: roles.into_iter().map(|(_, v)| v).collect(),
        groups,
    }
}

pub fn desired_group(id: &str, data: &Map<String, Value>, members: Vec<MemberRef>) -> DesiredGroup {
    DesiredGroup {
        scim_id: id.to_owned(),
        display_name: s(data, "displayName").unwrap_or_default(),
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_from_okta_shape() {
        let data = json!({
            "userName": "jane@corp.example",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "j.other@corp.example", "type": "home"}, {"value": "jane@corp.example", "primary": true}],
            "phoneNumbers": [{"value": "+1 555 0100"}],
            "roles": [{"value": "ROLE_VIEW"}, {"value": "ROLE_ADMIN", "primary": true}],
            "active": false
        });
        let u = desired_user(
            "id1",
            data.as_object().unwrap_or(&Map::new()),
            vec!["Admins".into()],
        );
        assert_eq!(u.email.as_deref(), Some("jane@corp.example"));
        assert_eq!(u.roles, vec!["ROLE_ADMIN", "ROLE_VIEW"]);
        assert_eq!(u.phone.as_deref(), Some("+1 555 0100"));
        assert!(!u.active);
        assert_eq!(u.given_name.as_deref(), Some("Jane"));
    }

    #[test]
    fn email_falls_back_to_username() {
        let data = json!({"userName": "bob@x.example"});
        let u = desired_user("id", data.as_object().unwrap_or(&Map::new()), vec![]);
        assert_eq!(u.email.as_deref(), Some("bob@x.example"));
        assert!(u.active);
    }
}
