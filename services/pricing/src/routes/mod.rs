//! HTTP routes of the pricing service.

pub mod calculate;
pub mod market;
pub mod optimize;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags(
    (name = "pricing", description = "Suggested prices over a fair-wage floor, explained."),
    (name = "market", description = "Market figures from completed sales.")
))]
struct ApiDoc;

/// Every route of the service, with its description.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(calculate::router())
        .merge(market::router())
        .merge(optimize::router())
        .with_state(state)
}
