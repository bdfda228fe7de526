//! Any bytes as a POST / PUT request body. Byte 0 picks the resource type (bit 0) and the
//! Content-Type header (bits 1..): none, the two accepted types (with parameters and odd
//! case), rejected ones, and bytes that are not a valid header value. The rest is the body:
//! the extractor (content type, JSON, object, depth), `canonicalize`, the worker's view.
//! Checked: a canonical result canonicalises to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_bridge::fuzzing::request_body;
use scim_bridge::scim::ResourceType;
use scim_bridge::scim::canonical::canonicalize;
use serde_json::Value;

const CONTENT_TYPES: [Option<&[u8]>; 8] = [
    Some(b"application/scim+json"),
    Some(b"application/json"),
    None,
    Some(b"application/scim+json; charset=utf-8"),
    Some(b"Application/JSON ; charset=\"UTF-8\""),
    Some(b"text/plain"),
    Some(b"application/scim+json\xff"),
    Some(b""),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let rt = if sel & 1 == 0 {
        ResourceType::User
    } else {
        ResourceType::Group
    };
    let ct = CONTENT_TYPES[usize::from(sel >> 1) % CONTENT_TYPES.len()];
    if let Ok(canonical) = request_body(rt, ct, body) {
        let again = canonicalize(rt, &Value::Object(canonical.clone()))
            .unwrap_or_else(|e| panic!("canonical form rejected by canonicalize: {e}"));
        assert_eq!(again, canonical, "canonicalize is not idempotent");
    }
});
