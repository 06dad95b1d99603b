//! The blockchain service's HTTP routes, one module per resource.

pub mod escrow;
pub mod payments;
pub mod provenance;
pub mod wallet;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "blockchain")))]
struct ApiDoc;

/// Every route of the service, with its description.
pub fn api(state: AppState) -> OpenApiRouter {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(provenance::router())
        .merge(payments::router())
        .merge(escrow::router())
        .merge(wallet::router());
    payments::describe_configured_terms(
        api.get_openapi_mut(),
        &state.settings.chain.payment_currency,
        state.contracts.payment_token,
    );
    api.with_state(state)
}
