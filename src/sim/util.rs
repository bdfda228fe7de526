//! Small helpers the simulators share: validation and parsing of untrusted input.

use std::collections::HashMap;

/// A deliberately plain email check: `local@domain.tld`, no whitespace, one `@`.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// The trimmed value of an optional string field, `None` when absent or blank.
pub fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parse an optional non-negative integer query parameter. `Err` names the bad parameter.
pub fn query_u64(q: &HashMap<String, String>, name: &str) -> Result<Option<u64>, String> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("{name} must be a non-negative integer, got '{v}'")),
    }
}

/// `items[offset .. offset+limit]`, cloned.
pub fn page<T: Clone>(items: &[T], offset: u64, limit: u64) -> Vec<T> {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(items.len());
    let len = usize::try_from(limit).unwrap_or(usize::MAX);
    items[start..].iter().take(len).cloned().collect()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(valid_email("a@b.co"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("@b.co"));
        assert!(!valid_email("a b@c.de"));
        assert!(!valid_email("a@@b.co"));
        assert!(!valid_email("plain"));
    }

    #[test]
    fn paging() {
        let v = [1, 2, 3, 4, 5];
        assert_eq!(page(&v, 0, 2), vec![1, 2]);
        assert_eq!(page(&v, 4, 2), vec![5]);
        assert!(page(&v, 9, 2).is_empty());
    }
}
