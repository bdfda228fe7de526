//! Thin axum handlers: extract, call the service, shape the HTTP answer.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::AuthedTarget;
use super::body::{ScimJson, etag, if_match};
use super::error::{SCIM_CONTENT_TYPE, ScimError};
use super::list::ListParams;
use super::list_body::ListPage;
use super::render::{BaseUrl, target_base};
use super::service::{Ctx, PatchAnswer, Projection, Rendered, Shown};
use super::{ResourceType, discovery};
use crate::config::GroupPatchAnswer;
use crate::state::AppState;

/// A JSON response with the SCIM content type.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    scim_text(status, body.to_string().into_bytes())
}

/// JSON text as a response with the SCIM content type.
fn scim_text(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    r
}

/// A list answer (`ListResponse`).
fn list_response(c: &Ctx<'_>, page: &ListPage) -> Result<Response, ScimError> {
    let body = page
        .to_json(&c.base)
        .map_err(|e| ScimError::Internal(e.into()))?;
    Ok(scim_text(StatusCode::OK, body))
}

/// Adds the resource's version as its `ETag`.
fn with_etag(mut r: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// A single GET's answer.
fn shown(s: Shown) -> Response {
    match s {
        Shown::Tree(rendered) => with_resource(StatusCode::OK, rendered),
        Shown::Text { body, version } => with_etag(scim_text(StatusCode::OK, body), version),
    }
}

fn with_resource(status: StatusCode, rendered: Rendered) -> Response {
    let location = rendered.location;
    let mut r = with_etag(
        scim_json(status, &Value::Object(rendered.body)),
        rendered.version,
    );
    if status == StatusCode::CREATED
        && let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok())
    {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

fn ctx<'a>(state: &'a AppState, t: &'a AuthedTarget, base: &BaseUrl) -> Ctx<'a> {
    Ctx {
        state,
        target: &t.0,
        base: target_base(base, &t.0.name),
    }
}

fn attrs(raw: Option<&str>) -> Result<ListParams, ScimError> {
    ListParams::from_query(raw)
}

/// `attributes` / `excludedAttributes` for a write's answer (RFC 7644 §3.9).
fn projection(p: &ListParams) -> Projection<'_> {
    Projection {
        attributes: p.attributes.as_deref(),
        excluded: p.excluded.as_deref(),
    }
}

macro_rules! resource_handlers {
    ($rt:expr, $list:ident, $search:ident, $create:ident, $get:ident, $put:ident, $patch:ident, $delete:ident) => {
        pub async fn $list(
            State(s): State<AppState>,
            Extension(t): Extension<AuthedTarget>,
            base: BaseUrl,
            RawQuery(q): RawQuery,
        ) -> Result<Response, ScimError> {
            let p = ListParams::from_query(q.as_deref())?;
            let c = ctx(&s, &t, &base);
            list_response(&c, &c.list($rt, &p).await?)
        }
        pub async fn $search(
            State(s): State<AppState>,
            Extension(t): Extension<AuthedTarget>,
            base: BaseUrl,
            ScimJson(body): ScimJson,
        ) -> Result<Response, ScimError> {
            let p = ListParams::from_search(&body)?;
            let c = ctx(&s, &t, &base);
            list_response(&c, &c.list($rt, &p).await?)
        }
        pub async fn $create(
            State(s): State<AppState>,
            Extension(t): Extension<AuthedTarget>,
            base: BaseUrl,
            RawQuery(q): RawQuery,
            ScimJson(body): ScimJson,
        ) -> Result<Response, ScimError> {
            let p = attrs(q.as_deref())?;
            Ok(with_resource(
                StatusCode::CREATED,
                ctx(&s, &t, &base)
                    .create($rt, &body, projection(&p))
                    .await?,
            ))
        }
        pub async fn $get(
            State(s): State<AppState>,
            Extension(t): Extension<AuthedTarget>,
            base: BaseUrl,
            Path((_, id)): Path<(String, String)>,
            RawQuery(q): RawQuery,
        ) -> Result<Response, ScimError> {
            let p = attrs(q.as_deref())?;
            let r = ctx(&s, &t, &base)
                .get($rt, &id, p.attributes.as_deref(), p.excluded.as_deref())
                .await?;
            Ok(shown(r))
        }
        pub async fn $put(
            State(s): State<AppState>,
            Extension(t): Extension<AuthedTarget>,
            base: BaseUrl,
            Path((_, id)): Path<(String, String)>,
            RawQuery(q): RawQuery,
            headers: HeaderMap,
            ScimJson(body): ScimJson,
        ) -> Result<Response, ScimError> {
            let p = attrs(q.as_deref())?;
            Ok(with_resource(
                StatusCode::OK,
                ctx(&s, &t, &base)
                    .replace($rt, &id, &body, if_match(&headers), projection(&p))
                    .await?,
            ))
        }
        pub async fn $patch(
            State(s): State<AppState>,
            Extension(t): Extension<AuthedTarget>,
            base: BaseUrl,
            Path((_, id)): Path<(String, String)>,
            RawQuery(q): RawQuery,
            headers: HeaderMap,
            ScimJson(body): ScimJson,
        ) -> Result<Response, ScimError> {
            let p = attrs(q.as_deref())?;
            // A target may answer group PATCHes with 204 (RFC 7644 §3.5.2): the 200 lists
            // every member, 10 MB for a group of 100k. A request asking for attributes
            // still gets them.
            let answer = if $rt == ResourceType::Group
                && t.0.group_patch_answer == GroupPatchAnswer::NoContent
                && p.attributes.is_none()
                && p.excluded.is_none()
            {
                PatchAnswer::Version
            } else {
                PatchAnswer::Resource
            };
            let rendered = ctx(&s, &t, &base)
                .patch($rt, &id, &body, if_match(&headers), answer, projection(&p))
                .await?;
            Ok(match answer {
                PatchAnswer::Resource => with_resource(StatusCode::OK, rendered),
                PatchAnswer::Version => {
                    with_etag(StatusCode::NO_CONTENT.into_response(), rendered.version)
                }
            })
        }
        pub async fn $delete(
            State(s): State<AppState>,
            Extension(t): Extension<AuthedTarget>,
            base: BaseUrl,
            Path((_, id)): Path<(String, String)>,
            headers: HeaderMap,
        ) -> Result<Response, ScimError> {
            ctx(&s, &t, &base)
                .delete($rt, &id, if_match(&headers))
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    };
}

resource_handlers!(
    ResourceType::User,
    list_users,
    search_users,
    create_user,
    get_user,
    put_user,
    patch_user,
    delete_user
);
resource_handlers!(
    ResourceType::Group,
    list_groups,
    search_groups,
    create_group,
    get_group,
    put_group,
    patch_group,
    delete_group
);

/// `POST /.search` at the root: Users then Groups, paged across both.
pub async fn search_root(
    State(s): State<AppState>,
    Extension(t): Extension<AuthedTarget>,
    base: BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let p = ListParams::from_search(&body)?;
    let c = ctx(&s, &t, &base);
    let count = p
        .count
        .unwrap_or(i64::from(s.config.default_page_size))
        .clamp(0, i64::from(s.config.max_page_size));
    let start = p.start_index.unwrap_or(1).max(1);
    // A filter naming an attribute one type lacks matches nothing of that type.
    let mut probe = p.clone();
    probe.count = Some(0);
    let users_total = c_list(&c, ResourceType::User, &probe).await?.total;
    let groups_total = c_list(&c, ResourceType::Group, &probe).await?.total;
    let mut items = Vec::new();
    let mut q = p.clone();
    q.count = Some(count);
    if start <= users_total && users_total > 0 {
        q.start_index = Some(start);
        items.extend(c_list(&c, ResourceType::User, &q).await?.items);
    }
    let remaining = count - items.len() as i64;
    if remaining > 0 && groups_total > 0 {
        q.start_index = Some((start - users_total).max(1));
        q.count = Some(remaining);
        items.extend(c_list(&c, ResourceType::Group, &q).await?.items);
    }
    let page = ListPage {
        total: users_total + groups_total,
        start,
        items,
    };
    list_response(&c, &page)
}

async fn c_list(c: &Ctx<'_>, rt: ResourceType, p: &ListParams) -> Result<ListPage, ScimError> {
    match c.list(rt, p).await {
        Err(ScimError::Client {
            scim_type: Some(super::error::ScimType::InvalidFilter),
            ..
        }) if p.filter.is_some() => Ok(ListPage {
            total: 0,
            start: 1,
            items: Vec::new(),
        }),
        other => other,
    }
}

pub async fn service_provider_config(
    State(s): State<AppState>,
    Extension(t): Extension<AuthedTarget>,
    base: BaseUrl,
) -> Response {
    let b = target_base(&base, &t.0.name);
    scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&b, s.config.max_page_size),
    )
}

pub async fn resource_types(Extension(t): Extension<AuthedTarget>, base: BaseUrl) -> Response {
    let b = target_base(&base, &t.0.name);
    scim_json(
        StatusCode::OK,
        &discovery::list_response(discovery::resource_types(
            &b,
            t.0.enrichment_source.is_some(),
        )),
    )
}

pub async fn resource_type(
    Extension(t): Extension<AuthedTarget>,
    base: BaseUrl,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ScimError> {
    let b = target_base(&base, &t.0.name);
    discovery::resource_types(&b, t.0.enrichment_source.is_some())
        .into_iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(id.as_str()))
        .map(|r| scim_json(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found(format!("resource type `{id}` not found")))
}

pub async fn schemas(Extension(t): Extension<AuthedTarget>, base: BaseUrl) -> Response {
    let b = target_base(&base, &t.0.name);
    scim_json(
        StatusCode::OK,
        &discovery::list_response(discovery::schemas(&b, t.0.enrichment_source.is_some())),
    )
}

pub async fn schema(
    Extension(t): Extension<AuthedTarget>,
    base: BaseUrl,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ScimError> {
    let b = target_base(&base, &t.0.name);
    Ok(scim_json(
        StatusCode::OK,
        &discovery::schema(&b, &id, t.0.enrichment_source.is_some())?,
    ))
}

/// `/Me`, `/Bulk`: not supported, said plainly.
pub async fn not_implemented() -> ScimError {
    ScimError::status(
        StatusCode::NOT_IMPLEMENTED,
        "not supported by this server (see /ServiceProviderConfig)",
    )
}

pub async fn method_not_allowed() -> ScimError {
    ScimError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
    )
}
