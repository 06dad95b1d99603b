//! `POST /ml/predict-demand`.

use axum::extract::State;
use common::catalogue::CATEGORIES;
use common::identity::Role;
use common::{Caller, Json, Validator};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::demand::{self, DailyOrders, DemandForecast, MAX_HORIZON};
use crate::error::MlError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(predict_demand))
}

fn categories() -> utoipa::openapi::schema::ObjectBuilder {
    common::schema::string_enum(CATEGORIES.iter().copied())
}

/// `POST /ml/predict-demand`: a market slice and a horizon.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandRequest {
    /// One of the catalogue's categories.
    #[schema(schema_with = categories)]
    pub category: String,
    /// Absent: every subcategory.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub subcategory: Option<String>,
    /// Absent: every region.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub region: Option<String>,
    /// Days ahead: 1 to 90.
    #[schema(minimum = 1, maximum = 90)]
    pub time_horizon: u32,
}

/// Completed orders a day of a slice of the market, forecast over the
/// horizon with 80% and 95% intervals (additive Holt–Winters with a weekly
/// season), the trend, each weekday's factor, and the model's error on a
/// held-out tail beside the seasonal naive forecast's; with under three
/// weeks of history, the naive estimate and the reason. Artisans, admins
/// and services.
#[utoipa::path(post, path = "/ml/predict-demand", tag = "ml", security(("bearer" = [])),
    request_body = DemandRequest, responses((status = 200, body = DemandForecast)))]
async fn predict_demand(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<DemandRequest>,
) -> Result<Json<DemandForecast>, MlError> {
    caller.require(&[Role::Artisan, Role::Admin, Role::Service])?;
    let mut v = Validator::new();
    v.check_with(
        CATEGORIES.contains(&body.category.as_str()),
        "category",
        "invalid",
        || format!("one of {}", CATEGORIES.join(", ")),
    )
    .check(
        (1..=MAX_HORIZON).contains(&body.time_horizon),
        "time_horizon",
        "out_of_range",
        "1 to 90 days",
    );
    for (field, value) in [("subcategory", &body.subcategory), ("region", &body.region)] {
        if let Some(value) = value {
            v.length(field, value, 1, 80);
        }
    }
    v.finish()?;
    let id = demand::slice_id(
        &body.category,
        body.subcategory.as_deref(),
        body.region.as_deref(),
    );
    let series = state
        .store
        .collection::<DailyOrders>()
        .get(&id)
        .await?
        .map(|s| s.value)
        .unwrap_or_default();
    let today = chrono::Utc::now().date_naive();
    let horizon = body.time_horizon;
    let answer =
        tokio::task::spawn_blocking(move || demand::forecast(&series, today, horizon)).await?;
    Ok(Json(answer))
}
