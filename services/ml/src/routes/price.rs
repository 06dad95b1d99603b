//! `POST /ml/predict-price`.

use axum::extract::State;
use common::identity::Role;
use common::{Caller, Json, Validator};
use store::{Query, StoreError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::price::{self, Comparable, MAX_LISTINGS, PredictPrice, PricePrediction};
use crate::error::MlError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(predict_price))
}

/// A price from the nearest comparable listings in the category (by
/// subcategory, region, materials and production time), with its 80%
/// interval and the nearest listings it learnt from; with fewer than five
/// comparables, `insufficient_data` and the reason. Artisans, admins and
/// services.
#[utoipa::path(post, path = "/ml/predict-price", tag = "ml", security(("bearer" = [])),
    request_body = PredictPrice, responses((status = 200, body = PricePrediction)))]
async fn predict_price(
    State(state): State<AppState>,
    caller: Caller,
    Json(ask): Json<PredictPrice>,
) -> Result<Json<PricePrediction>, MlError> {
    caller.require(&[Role::Artisan, Role::Admin, Role::Service])?;
    let mut v = Validator::new();
    v.length("category", &ask.category, 1, 64)
        .length("subcategory", &ask.subcategory, 0, 80)
        .check(
            ask.labor_hours.is_finite() && (0.0..=10_000.0).contains(&ask.labor_hours),
            "labor_hours",
            "out_of_range",
            "0 to 10,000",
        )
        .check(
            ask.artisan_skill_level <= 5,
            "artisan_skill_level",
            "out_of_range",
            "0 to 5",
        )
        .check(
            ask.production_time_days.is_none_or(|d| d <= 3_650),
            "production_time_days",
            "out_of_range",
            "at most 3,650",
        );
    if let Some(id) = &ask.product_id {
        v.length("product_id", id, 0, 128);
    }
    if let Some(r) = &ask.region {
        v.length("region", r, 0, 80);
    }
    for (i, m) in ask.materials.iter().enumerate() {
        v.length(&format!("materials[{i}]"), m, 0, 60);
    }
    v.finish()?;
    let listings = category_listings(&state.store, &ask.category).await?;
    Ok(Json(price::predict(&ask, &listings)))
}

/// The category's active listings, at most [`MAX_LISTINGS`].
async fn category_listings(
    store: &store::Store,
    category: &str,
) -> Result<Vec<(String, Comparable)>, StoreError> {
    let q = Query::new().eq("category", category).eq("active", true);
    let listings = store
        .collection::<Comparable>()
        .query_up_to(&q, MAX_LISTINGS)
        .await?;
    Ok(listings.into_iter().map(|c| (c.id, c.value)).collect())
}
