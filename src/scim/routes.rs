//! The SCIM router: `/scim/v2/{target}/…`, every route behind the target's bearer token.

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use super::auth::require_target_token;
use super::handlers as h;
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    let scim = Router::new()
        .route("/Users", get(h::list_users).post(h::create_user))
        .route("/Users/.search", post(h::search_users))
        .route(
            "/Users/{id}",
            get(h::get_user)
                .put(h::put_user)
                .patch(h::patch_user)
                .delete(h::delete_user),
        )
        .route("/Groups", get(h::list_groups).post(h::create_group))
        .route("/Groups/.search", post(h::search_groups))
        .route(
            "/Groups/{id}",
            get(h::get_group)
                .put(h::put_group)
                .patch(h::patch_group)
                .delete(h::delete_group),
        )
        .route("/.search", post(h::search_root))
        .route("/ServiceProviderConfig", get(h::service_provider_config))
        .route("/ResourceTypes", get(h::resource_types))
        .route("/ResourceTypes/{id}", get(h::resource_type))
        .route("/Schemas", get(h::schemas))
        .route("/Schemas/{id}", get(h::schema))
        .route(
            "/Me",
            get(h::not_implemented)
                .post(h::not_implemented)
                .put(h::not_implemented)
                .patch(h::not_implemented)
                .delete(h::not_implemented),
        )
        .route("/Bulk", post(h::not_implemented))
        .fallback(h::not_found)
        .method_not_allowed_fallback(h::method_not_allowed)
        .route_layer(from_fn_with_state(state, require_target_token));
    Router::new().nest("/scim/v2/{target}", scim)
}
