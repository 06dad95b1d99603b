//! HTTP routes of the auth service, one module per resource.

pub mod accounts;
pub mod keys;
pub mod profile;
pub mod sessions;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "accounts"), (name = "sessions"), (name = "profile"), (name = "keys")))]
struct ApiDoc;

/// Every route of the service, with its API description.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(accounts::router())
        .merge(sessions::router())
        .merge(profile::router())
        .merge(keys::router())
        .with_state(state)
}
