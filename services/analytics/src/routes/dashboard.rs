//! `GET /analytics/dashboard/{user_id}`.

use axum::extract::State;
use common::{Caller, Id, Json, Path, Query};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::dashboard::{Dashboard, UserType};
use crate::domain::may_see;
use crate::domain::period::Period;
use crate::error::AnalyticsError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardParams {
    /// `artisan` (sales, conversion, products, searches, markets, seasons,
    /// prices) or `buyer` (orders, spend, categories, likes).
    pub user_type: UserType,
    /// `7d`, `30d` (default), `90d` or `365d`, ending now.
    #[serde(default)]
    pub period: Period,
}

/// A user's dashboard: each figure of the period with the period before
/// and the change. The user themself or an admin.
#[utoipa::path(get, path = "/analytics/dashboard/{user_id}", tag = "dashboards",
    security(("bearer" = [])),
    params(("user_id" = Id, Path), DashboardParams),
    responses((status = 200, body = Dashboard),
        (status = 403, description = "not the user, nor an admin"),
        (status = 422, description = "an unknown user_type or period")))]
async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<Id>,
    Query(params): Query<DashboardParams>,
) -> Result<Json<Dashboard>, AnalyticsError> {
    may_see(&caller, &user_id)?;
    let d = state
        .analytics
        .dashboard(user_id.into_string(), params.user_type, params.period)
        .await?;
    Ok(Json(d))
}
