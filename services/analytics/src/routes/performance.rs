//! `GET /analytics/performance/{product_id}`.

use axum::extract::State;
use common::{Caller, Id, Json, Path, Query};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::performance::Performance;
use crate::domain::period::Period;
use crate::error::AnalyticsError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(performance))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PerformanceParams {
    /// `7d`, `30d` (default), `90d` or `365d`, ending now.
    #[serde(default)]
    pub period: Period,
}

/// A product's views, likes, shares, search clicks, orders, units,
/// revenue, conversion, buyers' regions and a score explained by its parts.
/// Its artisan or an admin.
#[utoipa::path(get, path = "/analytics/performance/{product_id}", tag = "dashboards",
    security(("bearer" = [])),
    params(("product_id" = Id, Path), PerformanceParams),
    responses((status = 200, body = Performance),
        (status = 403, description = "not the product's artisan, nor an admin"),
        (status = 404, description = "no such product is known here")))]
async fn performance(
    State(state): State<AppState>,
    caller: Caller,
    Path(product_id): Path<Id>,
    Query(params): Query<PerformanceParams>,
) -> Result<Json<Performance>, AnalyticsError> {
    let product = state.analytics.product_of(&caller, &product_id).await?;
    Ok(Json(
        state.analytics.performance(product, params.period).await?,
    ))
}
