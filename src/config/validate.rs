//! Cross-key validation of the whole config and of `[targets.*]`, secret files, and the
//! Carbon Black region table.

use std::path::PathBuf;

use secrecy::SecretString;

use super::{Config, ConfigError, TargetConfig, TargetKind};

/// The rules no single key can check: page sizes against each other, `public_url`, every
/// target (its kind's keys, secret files), and `enrich_from` naming an abnormal target.
pub(super) fn validate_config(cfg: &mut Config) -> Result<(), ConfigError> {
    if cfg.database_max_connections == 0 {
        return Err(ConfigError::invalid(
            "database_max_connections",
            "must be at least 1",
        ));
    }
    if cfg.max_page_size == 0 || cfg.default_page_size == 0 {
        return Err(ConfigError::invalid("max_page_size", "must be at least 1"));
    }
    if cfg.default_page_size > cfg.max_page_size {
        return Err(ConfigError::invalid(
            "default_page_size",
            "must not exceed max_page_size",
        ));
    }
    if let Some(u) = &cfg.public_url {
        url::Url::parse(u).map_err(|e| ConfigError::invalid("public_url", e.to_string()))?;
    }
    if cfg.sync.workers == 0 {
        return Err(ConfigError::invalid("sync.workers", "must be at least 1"));
    }
    let names: Vec<String> = cfg.targets.keys().cloned().collect();
    for (name, t) in cfg.targets.iter_mut() {
        validate_target(name, t, &names)?;
    }
    for (name, t) in &cfg.targets {
        if let Some(src) = &t.enrich_from {
            let ok = cfg
                .targets
                .get(src)
                .is_some_and(|s| s.kind == Some(TargetKind::Abnormal));
            if !ok {
                return Err(ConfigError::invalid(
                    format!("targets.{name}.enrich_from"),
                    format!("`{src}` is not an abnormal target"),
                ));
            }
        }
    }
    Ok(())
}

fn is_valid_target_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn validate_target(
    name: &str,
    t: &mut TargetConfig,
    _all: &[String],
) -> Result<(), ConfigError> {
    let key = |k: &str| format!("targets.{name}.{k}");
    if !is_valid_target_name(name) {
        return Err(ConfigError::invalid(
            format!("targets.{name}"),
            "target names use letters, digits, '-' and '_' only (max 64)",
        ));
    }
    let Some(kind) = t.kind else {
        return Err(ConfigError::invalid(
            key("kind"),
            "missing; one of \"contrast\", \"carbon_black\", \"abnormal\"",
        ));
    };
    // Keys that belong to other kinds are refused by name.
    let foreign: &[(&str, bool)] = &[
        ("org_uuid", t.org_uuid.is_some()),
        ("username", t.username.is_some()),
        (
            "service_key",
            t.service_key.is_some() || t.service_key_file.is_some(),
        ),
        ("api_key", t.api_key.is_some() || t.api_key_file.is_some()),
        ("on_delete", t.on_delete.is_some()),
        ("groups", !t.groups.is_empty()),
        ("disable_method", t.disable_method.is_some()),
        ("group_members_method", t.group_members_method.is_some()),
        ("region", t.region.is_some()),
        ("org_key", t.org_key.is_some()),
        ("api_id", t.api_id.is_some()),
        (
            "api_secret",
            t.api_secret.is_some() || t.api_secret_file.is_some(),
        ),
        ("update_method", t.update_method.is_some()),
        ("revoke_api_keys", t.revoke_api_keys.is_some()),
        ("api_key_owner_field", t.api_key_owner_field.is_some()),
        ("api_key_revoke_method", t.api_key_revoke_method.is_some()),
        ("token", t.token.is_some() || t.token_file.is_some()),
        ("poll_interval", t.poll_interval.is_some()),
        ("lookup_cache_secs", t.lookup_cache_secs.is_some()),
    ];
    let allowed: &[&str] = match kind {
        TargetKind::Contrast => &[
            "org_uuid",
            "username",
            "service_key",
            "api_key",
            "on_delete",
            "groups",
            "disable_method",
            "group_members_method",
            "lookup_cache_secs",
        ],
        TargetKind::CarbonBlack => &[
            "region",
            "org_key",
            "api_id",
            "api_secret",
            "update_method",
            "revoke_api_keys",
            "api_key_owner_field",
            "api_key_revoke_method",
            "lookup_cache_secs",
        ],
        TargetKind::Abnormal => &["token", "poll_interval"],
    };
    for (k, set) in foreign {
        if *set && !allowed.contains(k) {
            return Err(ConfigError::invalid(
                key(k),
                format!("not a setting of kind \"{}\"", kind.as_str()),
            ));
        }
    }
    if kind == TargetKind::Abnormal && !t.group_roles.is_empty() {
        return Err(ConfigError::invalid(
            key("group_roles"),
            "not a setting of kind \"abnormal\"",
        ));
    }
    if t.enrich_from.is_some() && kind == TargetKind::Abnormal {
        return Err(ConfigError::invalid(
            key("enrich_from"),
            "an abnormal target enriches its own users already",
        ));
    }
    if let Some(r) = t.rate_limit_per_sec
        && !(r.is_finite() && r > 0.0)
    {
        return Err(ConfigError::invalid(
            key("rate_limit_per_sec"),
            "must be a positive number",
        ));
    }
    if t.max_concurrency == Some(0) {
        return Err(ConfigError::invalid(
            key("max_concurrency"),
            "must be at least 1",
        ));
    }
    if let Some(u) = &t.base_url {
        url::Url::parse(u).map_err(|e| ConfigError::invalid(key("base_url"), e.to_string()))?;
    }
    if kind == TargetKind::CarbonBlack
        && let Some(region) = &t.region
    {
        if t.base_url.is_some() {
            return Err(ConfigError::invalid(
                key("region"),
                "set either region or base_url, not both",
            ));
        }
        if carbon_black_region_host(region).is_none() {
            return Err(ConfigError::invalid(
                key("region"),
                format!(
                    "unknown region `{region}`; known: {}",
                    CARBON_BLACK_REGIONS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    read_secret_file(
        &key("service_key_file"),
        &mut t.service_key,
        &t.service_key_file,
    )?;
    read_secret_file(&key("api_key_file"), &mut t.api_key, &t.api_key_file)?;
    read_secret_file(
        &key("api_secret_file"),
        &mut t.api_secret,
        &t.api_secret_file,
    )?;
    read_secret_file(&key("token_file"), &mut t.token, &t.token_file)?;
    Ok(())
}

fn read_secret_file(
    key: &str,
    slot: &mut Option<SecretString>,
    file: &Option<PathBuf>,
) -> Result<(), ConfigError> {
    if let Some(path) = file {
        if slot.is_some() {
            return Err(ConfigError::invalid(
                key,
                "set either the secret or its _file, not both",
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::invalid(key, format!("cannot read {}: {e}", path.display()))
        })?;
        *slot = Some(SecretString::from(text.trim().to_string()));
    }
    Ok(())
}

/// Named Carbon Black Cloud regions and their API hosts (public hosts, see docs/configuration.md).
pub const CARBON_BLACK_REGIONS: &[(&str, &str)] = &[
    ("us", "https://defense.conferdeploy.net"),
    ("eu", "https://defense-eu.conferdeploy.net"),
    ("prod05", "https://defense-prod05.conferdeploy.net"),
    ("jp", "https://defense-prodnrt.conferdeploy.net"),
    ("au", "https://defense-prodsyd.conferdeploy.net"),
    ("dashboard", "https://dashboard.confer.net"),
];

pub fn carbon_black_region_host(region: &str) -> Option<&'static str> {
    CARBON_BLACK_REGIONS
        .iter()
        .find(|(n, h)| *n == region || h.trim_start_matches("https://") == region)
        .map(|(_, h)| *h)
}
