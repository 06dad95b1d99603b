//! HTTP routes of the reviews service.

pub mod reviews;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "reviews")))]
struct ApiDoc;

/// Every route of the service, with its description.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(reviews::router())
        .with_state(state)
}
