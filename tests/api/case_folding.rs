//! Case-insensitive attributes fold all of Unicode, not only ASCII, on both databases
//! (SQLite's own `lower()` folds ASCII only: `store/sqlite_lower.rs`). The stored values
//! are upper case, so an ASCII-only fold of them cannot match the lowercase filters.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

fn user(user_name: &str, family: &str, email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Jörg", "familyName": family},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "active": true
    })
}

/// The ids of the users a filter finds.
async fn found(app: &TestApp, filter: &str) -> Vec<String> {
    let path = format!(
        "/Users?filter={}",
        utf8_percent_encode(filter, NON_ALPHANUMERIC)
    );
    let (st, v) = app.scim_json(Method::GET, "t1", &path, None).await;
    assert_eq!(st, 200, "{filter}: {v}");
    v["Resources"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

both!(non_ascii_case_insensitive_filters_match, |b| async move {
    let app = spawn_app(b).await;
    let (st, muller) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(user(
                "jm@corp.example",
                "MÜLLER",
                "JÖRG.MÜLLER@CORP.EXAMPLE",
            )),
        )
        .await;
    assert_eq!(st, 201, "{muller}");
    let (st, mueller) = app
        .scim_json(
            Method::POST,
            "t1",
            "/Users",
            Some(user(
                "jm2@corp.example",
                "Mueller",
                "joerg.mueller@corp.example",
            )),
        )
        .await;
    assert_eq!(st, 201, "{mueller}");
    let muller = muller["id"].as_str().unwrap().to_string();

    for filter in [
        r#"name.familyName eq "müller""#,
        r#"name.familyName eq "Müller""#,
        r#"name.familyName sw "mü""#,
        r#"emails.value co "jörg.mü""#,
        r#"emails[value ew "üller@corp.example"]"#,
        r#"name.givenName eq "JÖRG" and name.familyName ne "mueller""#,
    ] {
        assert_eq!(
            found(&app, filter).await,
            vec![muller.clone()],
            "{b:?}: {filter}"
        );
    }
    // Folding is not transliteration: "Mueller" is not "Müller".
    assert_eq!(
        found(&app, r#"name.familyName eq "müeller""#).await,
        Vec::<String>::new()
    );
});
