//! Golden fixtures: `tests/fixtures/scim/patch/*.json`, each
//! `{"resourceType", "before", "ops": <PatchOp body>, "after" | "error": "<scimType>"}`.

use serde_json::Value;

use super::*;

#[test]
fn golden_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scim/patch");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "fixtures missing in {}", dir.display());
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let rt = ResourceType::parse(fx["resourceType"].as_str().unwrap()).unwrap();
        let before = fx["before"].as_object().unwrap().clone();
        let mut res = before.clone();
        let result = parse_patch(&fx["ops"]).and_then(|ops| apply_patch(rt, &mut res, &ops));
        match (fx.get("after"), fx.get("error").and_then(Value::as_str)) {
            (Some(after), None) => {
                result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(Value::Object(res), *after, "{name}");
            }
            (None, Some(expected)) => {
                match result {
                    Err(ScimError::Client {
                        scim_type: Some(t), ..
                    }) => assert_eq!(t.as_str(), expected, "{name}"),
                    other => panic!("{name}: expected {expected}, got {other:?}"),
                }
                assert_eq!(res, before, "{name}: resource changed on error");
            }
            _ => panic!("{name}: needs exactly one of after/error"),
        }
    }
}
