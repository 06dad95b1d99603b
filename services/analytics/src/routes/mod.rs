//! HTTP routes of the analytics service.

pub mod dashboard;
pub mod market;
pub mod performance;
pub mod reports;
pub mod schedules;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags(
    (name = "dashboards", description = "A user's figures against the period before."),
    (name = "markets", description = "Prices, demand, styles and seasons of a category."),
    (name = "reports", description = "Metrics by dimensions as JSON, CSV, charts and PDF.")
))]
struct ApiDoc;

/// Every route of the service, with its description.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(dashboard::router())
        .merge(market::router())
        .merge(performance::router())
        .merge(reports::router())
        .merge(schedules::router())
        .with_state(state)
}
