//! `POST /pricing/optimize`.

use axum::extract::State;
use common::{Caller, Id, Json, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Ref;
use utoipa::openapi::schema::ArrayBuilder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::optimize::Optimization;
use crate::error::PricingError;
use crate::state::AppState;

/// The most products one request optimises (the configured maximum may
/// only be lower).
pub const MAX_PRODUCTS: usize = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(optimize))
}

fn ids_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("Id"))
        .min_items(Some(1))
        .max_items(Some(20))
        .unique_items(true)
}

/// `POST /pricing/optimize`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    /// 1 to 20 of the caller's products (distinct).
    #[serde(deserialize_with = "common::bounded::vec::<_, _, MAX_PRODUCTS>")]
    #[schema(schema_with = ids_schema)]
    pub product_ids: Vec<Id>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OptimizeResponse {
    pub results: Vec<Optimization>,
}

/// For each product: a price from its category's elasticity (a log-log fit
/// of weekly units on price, with its interval) when the data identify
/// one, with the expected change of demand and revenue; otherwise the
/// reason, and the calculation rule's price. The products' artisan or an
/// admin.
#[utoipa::path(post, path = "/pricing/optimize", tag = "pricing", security(("bearer" = [])),
    request_body = OptimizeRequest,
    responses((status = 200, body = OptimizeResponse), (status = 404, description = "unknown_product")))]
async fn optimize(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<OptimizeRequest>,
) -> Result<Json<OptimizeResponse>, PricingError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let max = state.pricing.settings.max_optimize;
    let ids: Vec<String> = body.product_ids.into_iter().map(Id::into_string).collect();
    let count = ids.len();
    let distinct = ids.iter().collect::<std::collections::BTreeSet<_>>().len();
    common::Validator::new()
        .check_with(
            (1..=max).contains(&count),
            "product_ids",
            "out_of_range",
            || format!("1 to {max} products"),
        )
        .check(
            distinct == count,
            "product_ids",
            "duplicate",
            "each product once",
        )
        .finish()?;
    let results = state.pricing.optimize(&caller, &ids).await?;
    Ok(Json(OptimizeResponse { results }))
}
