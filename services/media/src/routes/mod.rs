//! HTTP routes of the media service: uploads, serving and management.

pub mod content;
pub mod manage;
pub mod upload;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "media")))]
struct ApiDoc;

/// Every route of the service, with its description.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(upload::router())
        .merge(content::router())
        .merge(manage::router())
        .with_state(state)
}
