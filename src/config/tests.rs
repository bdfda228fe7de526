use super::*;

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn parse(toml: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(toml)
}

#[test]
fn defaults_are_sqlite_on_localhost() {
    let c = parse("").expect("empty config is valid");
    assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
    assert!(c.targets.is_empty());
    assert_eq!(c.max_page_size, 1000);
}

#[test]
fn full_contrast_target() {
    let c = parse(&format!(
        r#"
listen = "0.0.0.0:9000"
admin_token_sha256 = ["{HASH}"]
[targets.contrast-prod]
kind = "contrast"
token_sha256 = ["{HASH}"]
org_uuid = "o"
username = "u@x"
service_key = "s"
api_key = "a"
on_delete = "delete"
groups = {{ Developers = "g-1" }}
"#
    ))
    .expect("valid");
    let t = &c.targets["contrast-prod"];
    assert_eq!(t.kind, Some(TargetKind::Contrast));
    assert_eq!(t.on_delete, Some(OnDelete::Delete));
    assert_eq!(t.groups["Developers"], "g-1");
    // Secrets never print.
    assert!(!format!("{t:?}").contains("\"s\""));
}

#[test]
fn unknown_keys_are_named() {
    let e = parse("lisen = \"x\"").unwrap_err().to_string();
    assert!(e.contains("lisen"), "{e}");
    let e = parse("[targets.a]\nkind = \"contrast\"\nfoo = 1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("foo"), "{e}");
}

#[test]
fn keys_of_another_kind_are_refused_by_name() {
    let e = parse("[targets.a]\nkind = \"carbon_black\"\norg_uuid = \"x\"")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("targets.a.org_uuid") && e.contains("carbon_black"),
        "{e}"
    );
}

#[test]
fn bad_values_are_refused() {
    for (toml, key) in [
        ("[targets.a]\nkind = \"nope\"", "kind"),
        (
            "[targets.a]\ntoken_sha256 = [\"zz\"]\nkind = \"abnormal\"",
            "token_sha256",
        ),
        (
            "[targets.a]\nkind = \"carbon_black\"\nregion = \"mars\"",
            "region",
        ),
        (
            "[targets.a]\nkind = \"contrast\"\nenrich_from = \"b\"",
            "enrich_from",
        ),
        (
            "[targets.a]\nkind = \"contrast\"\nrate_limit_per_sec = -1.0",
            "rate_limit_per_sec",
        ),
        ("[targets.\"a b\"]\nkind = \"contrast\"", "targets.a b"),
        ("max_page_size = 0", "max_page_size"),
        ("database_max_connections = 0", "database_max_connections"),
        ("[sync]\nworkers = 0", "sync.workers"),
        ("listen = \"nowhere\"", "listen"),
    ] {
        let e = parse(toml).unwrap_err().to_string();
        assert!(e.contains(key), "expected `{key}` in: {e}");
    }
}

#[test]
fn secret_from_file() {
    let dir = std::env::temp_dir().join(format!("sb-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("key");
    std::fs::write(&f, "from-file\n").expect("write");
    let c = parse(&format!(
        "[targets.a]\nkind = \"abnormal\"\ntoken_file = \"{}\"",
        f.display()
    ))
    .expect("valid");
    use secrecy::ExposeSecret;
    assert_eq!(
        c.targets["a"].token.as_ref().map(|s| s.expose_secret()),
        Some("from-file")
    );
    let e = parse(&format!(
        "[targets.a]\nkind = \"abnormal\"\ntoken = \"x\"\ntoken_file = \"{}\"",
        f.display()
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("token_file"), "{e}");
}

#[test]
fn carbon_black_regions() {
    assert_eq!(
        carbon_black_region_host("eu"),
        Some("https://defense-eu.conferdeploy.net")
    );
    assert_eq!(
        carbon_black_region_host("defense-prodsyd.conferdeploy.net"),
        Some("https://defense-prodsyd.conferdeploy.net")
    );
    assert_eq!(carbon_black_region_host("mars"), None);
}
