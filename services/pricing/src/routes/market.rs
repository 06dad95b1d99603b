//! `GET /pricing/market-analysis/{category}`.

use axum::extract::State;
use common::catalogue::CATEGORIES;
use common::{ApiError, Caller, Json, Path, Query};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::analysis::Analysis;
use crate::error::PricingError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(market_analysis))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MarketParams {
    /// A region (as products name it, any case); absent: all regions.
    #[param(min_length = 1, max_length = 80, pattern = "\\S")]
    pub region: Option<String>,
}

/// A category's market: average and median price with quartiles, price
/// trends with their intervals, demand against its baseline, seasonality
/// by month, and recommendations naming the figure each follows from.
/// Any signed-in caller.
#[utoipa::path(get, path = "/pricing/market-analysis/{category}", tag = "market",
    security(("bearer" = [])),
    params(("category" = String, Path, description = "One of the catalogue's categories"), MarketParams),
    responses((status = 200, body = Analysis)))]
async fn market_analysis(
    State(state): State<AppState>,
    _caller: Caller,
    Path(category): Path<String>,
    Query(params): Query<MarketParams>,
) -> Result<Json<Analysis>, PricingError> {
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(ApiError::not_found(format!("category {category:?}")).into());
    }
    if let Some(r) = &params.region {
        common::Validator::new()
            .length("region", r, 1, 80)
            .finish()?;
    }
    let analysis = state
        .pricing
        .analysis(&category, params.region.as_deref())
        .await?;
    Ok(Json(analysis))
}
