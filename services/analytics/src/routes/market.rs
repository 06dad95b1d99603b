//! `GET /analytics/market-trends`.

use axum::extract::State;
use common::catalogue::CATEGORIES;
use common::{ApiError, Caller, Json, Query};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::period::Period;
use crate::domain::trends::MarketTrends;
use crate::error::AnalyticsError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(market_trends))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendParams {
    /// One of the catalogue's categories.
    pub category: String,
    /// A product region (as products name it, any case); absent: all.
    #[param(min_length = 1, max_length = 80, pattern = "\\S")]
    pub region: Option<String>,
    /// `7d`, `30d` (default), `90d` or `365d`, ending now.
    #[serde(default)]
    pub time_period: Period,
}

/// A category's market: the median price against the previous period and
/// its weekly direction, demand, weekly series, popular styles (the ML
/// tags of sold products), seasons over three years, and recommendations
/// naming the figure each follows from. Any signed-in caller, unless some
/// but fewer than `market_min_sellers` artisans (3 by default) sold in the
/// market in the period, the one before or the three years of seasons:
/// its figures would be one artisan's sales, so it is 403
/// `too_few_sellers` for everyone.
#[utoipa::path(get, path = "/analytics/market-trends", tag = "markets",
    security(("bearer" = [])),
    params(TrendParams),
    responses((status = 200, body = MarketTrends),
        (status = 403, description = "`too_few_sellers`: too few artisans sold in this market to show it"),
        (status = 422, description = "an unknown category or time_period")))]
async fn market_trends(
    State(state): State<AppState>,
    _caller: Caller,
    Query(params): Query<TrendParams>,
) -> Result<Json<MarketTrends>, AnalyticsError> {
    if !CATEGORIES.contains(&params.category.as_str()) {
        return Err(ApiError::invalid_field(
            "category",
            "unknown",
            format!("one of {}", CATEGORIES.join(", ")),
        )
        .into());
    }
    if let Some(r) = &params.region {
        common::Validator::new()
            .length("region", r, 1, 80)
            .finish()?;
    }
    let region = params.region.map(|r| r.trim().to_owned());
    let trends = state
        .analytics
        .market_trends(params.category, region, params.time_period)
        .await?;
    Ok(Json(trends))
}
