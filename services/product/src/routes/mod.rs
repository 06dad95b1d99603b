//! HTTP routes of the product service, one module per resource; none
//! imports another (what they share is in the domain).

pub mod engagement;
pub mod orders;
pub mod payments;
pub mod products;
pub mod search;

use common::Id;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The description's frame; `Id` is listed because path parameters name
/// it without adding it to the components.
#[derive(utoipa::OpenApi)]
#[openapi(
    tags((name = "products"), (name = "search"), (name = "orders"), (name = "engagement")),
    components(schemas(Id))
)]
struct ApiDoc;

/// Every route of the service with its description, over `state`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(products::router())
        .merge(search::router())
        .merge(engagement::router())
        .merge(orders::router())
        .merge(payments::router())
        .with_state(state)
}
