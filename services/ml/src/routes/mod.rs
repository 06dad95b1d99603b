//! HTTP routes of the ML service.

pub mod analyze;
pub mod demand;
pub mod moodboard;
pub mod price;
pub mod text;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "ml", description = "Product photos measured, and what follows from them.")))]
struct ApiDoc;

/// Every route of the service, with its description.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(analyze::router())
        .merge(demand::router())
        .merge(moodboard::router())
        .merge(price::router())
        .merge(text::router())
        .with_state(state)
}
