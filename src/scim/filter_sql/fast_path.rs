//! The lookups IdPs send before every create and update (`userName eq "…"`, `externalId
//! eq "…"`, `displayName eq "…"`, `id eq "…"`), recognised without the general parser.
//!
//! `scim_v2`'s LALRPOP lexer runs a regex DFA per token, about a tenth of the bridge's CPU
//! on a `GET /Users?filter=userName eq "…"` (docs/performance.md). This recogniser accepts
//! a strict subset of the grammar and builds the very tree the parser builds for it
//! (same name as written, string decoded by the same `serde_json::from_str`); anything
//! else, including every malformed input, falls back to the parser, so errors are the
//! parser's. Equality with the parser is checked by the tests below and by the `filter`
//! fuzz target on every input it accepts.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter};

/// Attribute names taken by the fast path (matched case-insensitively, kept as written).
/// None of them is a keyword of the grammar.
const NAMES: [&str; 4] = ["userName", "externalId", "displayName", "id"];

/// `Some(tree)` when `filter` is `<name> eq "<string>"` (ASCII spaces around `eq`), the
/// tree `filter.parse::<Filter>()` gives; `None` for anything else.
pub fn simple_eq(filter: &str) -> Option<Filter> {
    let s = filter.trim();
    let name_end = s.find(' ')?;
    let name = &s[..name_end];
    if !NAMES.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return None;
    }
    let rest = s[name_end..].trim_start_matches(' ');
    if !rest.get(..2)?.eq_ignore_ascii_case("eq") {
        return None;
    }
    let after_op = &rest[2..];
    let literal = after_op.trim_start_matches(' ');
    if literal.len() == after_op.len() || !is_one_string_literal(literal) {
        return None;
    }
    let value: String = serde_json::from_str(literal).ok()?;
    Some(Filter::Attr(AttrExp::Comparison(
        AttrPath {
            uri: None,
            name: name.to_string(),
            sub_attr: None,
        },
        CompareOp::Eq,
        CompValue::Str(value),
    )))
}

/// `"…"` whose first unescaped closing quote is its last byte.
fn is_one_string_literal(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() < 2 || bytes[0] != b'"' {
        return false;
    }
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        match (escaped, b) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, b'"') => return i == bytes.len() - 1,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn agrees(s: &str) {
        if let Some(fast) = simple_eq(s) {
            let parsed: Result<Filter, _> = s.parse();
            assert_eq!(
                parsed.ok(),
                Some(fast),
                "fast path and parser disagree on {s:?}"
            );
        }
    }

    #[test]
    fn takes_the_idp_lookups() {
        for s in [
            r#"userName eq "bjensen@example.com""#,
            r#"USERNAME EQ "a""#,
            r#"externalId eq "00u1""#,
            r#"displayName eq "Sales \"EU\" é""#,
            r#"id eq "x\u0041""#,
            "  userName   eq   \"\"  ",
        ] {
            assert!(simple_eq(s).is_some(), "{s}");
            agrees(s);
        }
    }

    #[test]
    fn leaves_everything_else_to_the_parser() {
        for s in [
            r#"userName eq "a" and id eq "b""#,
            r#"userName eq "a"""#,
            r#"userName ne "a""#,
            r#"userName eq 1"#,
            r#"emails eq "a""#,
            r#"name.givenName eq "a""#,
            r#"userName eq "a"#,
            r#"userName eq "a\""#,
            r#"userName eq"a""#,
            "userName\teq \"a\"",
            r#"userName eq "\q""#,
            "userName eq \"a\nb\"",
            r#"not eq "a""#,
        ] {
            assert!(simple_eq(s).is_none(), "{s}");
        }
    }

    /// Random strings near the accepted shape: whenever the fast path answers, the parser
    /// gives the same tree.
    #[test]
    fn agrees_with_the_parser_on_random_near_misses() {
        let pieces = [
            "userName",
            "username",
            "id",
            "externalId",
            "displayName",
            "emails",
            " ",
            "  ",
            "\t",
            "eq",
            "EQ",
            "ne",
            "\"",
            "\\",
            "\\\"",
            "\\u00e9",
            "\\n",
            "a",
            "é",
            "\n",
            " and ",
            "(",
            ")",
            "[",
            "1",
            "null",
        ];
        let mut rng = StdRng::seed_from_u64(11);
        let mut taken = 0;
        for _ in 0..50_000 {
            let n = rng.random_range(1..9);
            let mut s = String::new();
            if rng.random_bool(0.7) {
                s.push_str(pieces[rng.random_range(0..5)]);
                s.push_str(" eq \"");
            }
            for _ in 0..n {
                s.push_str(pieces[rng.random_range(0..pieces.len())]);
            }
            if rng.random_bool(0.7) {
                s.push('"');
            }
            taken += usize::from(simple_eq(&s).is_some());
            agrees(&s);
        }
        assert!(
            taken > 1000,
            "the generator reaches the fast path ({taken})"
        );
    }
}
