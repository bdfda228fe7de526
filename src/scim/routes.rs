//! The SCIM router: `/scim/v2/{target}/…`, every route behind the target's bearer token.

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use super::auth::require_target_token;
use super::handlers as h;
use crate::state::AppState;

/// The prefix of every SCIM path.
const PREFIX: &str = "/scim/v2/{target}";

/// Full paths rather than `Router::nest`: a nested router's routes each sit behind a prefix
/// strip that rebuilds the request's URI (docs/performance.md, round 15). A path under the
/// prefix that no route matches gets the top-level fallback's SCIM 404.
pub fn router(state: AppState) -> Router<AppState> {
    let path = |p: &str| format!("{PREFIX}{p}");
    Router::new()
        .route(&path("/Users"), get(h::list_users).post(h::create_user))
        .route(&path("/Users/.search"), post(h::search_users))
        .route(
            &path("/Users/{id}"),
            get(h::get_user)
                .put(h::put_user)
                .patch(h::patch_user)
                .delete(h::delete_user),
        )
        .route(&path("/Groups"), get(h::list_groups).post(h::create_group))
        .route(&path("/Groups/.search"), post(h::search_groups))
        .route(
            &path("/Groups/{id}"),
            get(h::get_group)
                .put(h::put_group)
                .patch(h::patch_group)
                .delete(h::delete_group),
        )
        .route(&path("/.search"), post(h::search_root))
        .route(
            &path("/ServiceProviderConfig"),
            get(h::service_provider_config),
        )
        .route(&path("/ResourceTypes"), get(h::resource_types))
        .route(&path("/ResourceTypes/{id}"), get(h::resource_type))
        .route(&path("/Schemas"), get(h::schemas))
        .route(&path("/Schemas/{id}"), get(h::schema))
        .route(
            &path("/Me"),
            get(h::not_implemented)
                .post(h::not_implemented)
                .put(h::not_implemented)
                .patch(h::not_implemented)
                .delete(h::not_implemented),
        )
        .route(&path("/Bulk"), post(h::not_implemented))
        .method_not_allowed_fallback(h::method_not_allowed)
        .route_layer(from_fn_with_state(state, require_target_token))
}
