//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, see docs/reliability.md).
//! Not an API: each function runs the real code path on untrusted input and discards the
//! result; only a panic, a hang or runaway memory is a finding. Filters and PATCH are
//! fuzzed through their public functions directly; this module covers what is private or
//! needs a request, and ([`list`]) runs compiled filters on a real database.

mod list;

pub use list::{ListOutcome, SqlList};

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{HeaderMap, HeaderValue, Request, header};
use serde_json::{Map, Value};

use crate::connectors::http::{self, Answer};
use crate::connectors::{abnormal, carbon_black, contrast};
use crate::scim::ResourceType;
use crate::scim::body::ScimJson;
use crate::scim::canonical::canonicalize;
use crate::scim::error::ScimError;
use crate::sync::desired::{desired_group, desired_user};

/// The filter fast path ([`crate::scim::filter_sql::simple_eq`]) against the parser: when
/// the fast path takes `text`, the parser must give the same tree, and
/// [`crate::scim::filter_sql::simple_eq_compiles`] must say what compiling it on Users
/// says. Panics otherwise.
pub fn filter_fast_path_agrees(text: &str) {
    use crate::scim::filter_sql::{FilterContext, compile_filter, simple_eq_compiles};
    use scim_v2::filter::{AttrExp, CompValue, Filter};
    if let Some(fast) = crate::scim::filter_sql::simple_eq(text) {
        let parsed = text.parse::<scim_v2::filter::Filter>().ok();
        assert_eq!(
            parsed.as_ref(),
            Some(&fast),
            "filter fast path disagrees with the parser"
        );
        if let Filter::Attr(AttrExp::Comparison(_, _, CompValue::Str(v))) = &fast {
            let ctx = FilterContext {
                dialect: crate::store::dialect::Dialect::Postgres,
                resource_type: ResourceType::User,
                enrichment_joined: false,
                first_placeholder: 3,
            };
            assert_eq!(
                simple_eq_compiles(text, v),
                compile_filter(text, &ctx).is_ok(),
                "simple_eq_compiles disagrees with compile_filter"
            );
        }
    }
}

/// The JSON request-body extractor of every SCIM write ([`ScimJson`]: content type, JSON, an
/// object, nesting depth). `content_type` None sends no Content-Type header.
pub fn scim_json(content_type: Option<&[u8]>, body: &[u8]) -> Result<Value, ScimError> {
    let mut req = Request::new(Body::from(body.to_vec()));
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_bytes(c).ok()) {
        req.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    let ScimJson(v) = futures::executor::block_on(ScimJson::from_request(req, &()))?;
    Ok(v)
}

/// The request-body path of POST / PUT: [`scim_json`], then [`canonicalize`] and the
/// worker's desired state built from the result.
pub fn request_body(
    rt: ResourceType,
    content_type: Option<&[u8]>,
    body: &[u8],
) -> Result<Map<String, Value>, ScimError> {
    let v = scim_json(content_type, body)?;
    let canonical = canonicalize(rt, &v)?;
    worker_view(rt, &canonical);
    Ok(canonical)
}

/// What the sync worker derives from a stored resource (run on every canonical result).
pub fn worker_view(rt: ResourceType, canonical: &Map<String, Value>) {
    match rt {
        ResourceType::User => {
            let _ = desired_user("fuzz-id", canonical, vec!["Admins".into()]);
        }
        ResourceType::Group => {
            let _ = desired_group("fuzz-id", canonical, Vec::new());
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Contrast,
    CarbonBlack,
    Abnormal,
}

/// One vendor answer through the shared classification ([`http::classify`]: status,
/// `Retry-After`, JSON, the vendor's error message) and, when it is a 2xx, through every
/// parser that vendor's connector applies to answers.
pub fn vendor_answer(vendor: Vendor, status: u16, retry_after: Option<&[u8]>, body: &[u8]) {
    let mut headers = HeaderMap::new();
    if let Some(ra) = retry_after.and_then(|r| HeaderValue::from_bytes(r).ok()) {
        headers.insert(header::RETRY_AFTER, ra);
    }
    let spec = match vendor {
        Vendor::Contrast => &contrast::SPEC,
        Vendor::CarbonBlack => &carbon_black::SPEC,
        Vendor::Abnormal => &abnormal::SPEC,
    };
    let path = "/fuzz/users";
    match http::classify(spec, path, status, &headers, body) {
        Ok(a) => parse_2xx(vendor, path, a),
        Err(e) => {
            let _ = e.error.to_string();
        }
    }
}

fn parse_2xx(vendor: Vendor, path: &str, a: Answer) {
    match vendor {
        Vendor::Contrast => {
            let _ = contrast::refusal(path, &a);
            for u in contrast::users_page(&a.body) {
                let _ = u.login();
            }
            let mut found = Vec::new();
            let _ = contrast::groups_page(&a.body, &mut found);
            let _ = contrast::invited_user_id(&a.body);
        }
        Vendor::CarbonBlack => {
            let _ = carbon_black::users_page(&a.body);
            let _ = carbon_black::num_found(&a.body);
            let _ = carbon_black::keys_page(&a.body);
            let _ = carbon_black::created_user(&a.body);
        }
        Vendor::Abnormal => {
            let _ = abnormal::accounts_page(&a.body);
            for c in abnormal::cases(&a.body) {
                let _ = c.is_open();
            }
            let _ = abnormal::account_detail(a.body);
        }
    }
}
