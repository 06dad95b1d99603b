//! `POST /reviews`: a buyer reviews a product of a completed order.

use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiError, Caller, Id, Json, Role, Validator};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::Review;
use crate::error::ReviewError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
}

/// `POST /reviews`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    pub product_id: Id,
    #[schema(minimum = 1, maximum = 5)]
    pub stars: u8,
    #[schema(max_length = 2000)]
    pub text: String,
}

/// Review a product of one of your completed orders.
#[utoipa::path(post, path = "/reviews", tag = "reviews", security(("bearer" = [])),
    request_body = NewReview, responses((status = 201, body = Review), (status = 409)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewReview>,
) -> Result<(StatusCode, Json<Review>), ReviewError> {
    caller.require(&[Role::Buyer])?;
    Validator::new()
        .length("text", &body.text, 0, state.max_text)
        .check(
            (1..=5).contains(&body.stars),
            "stars",
            "out_of_range",
            "1 to 5",
        )
        .finish()?;
    let key = format!("{}:{}", body.product_id, caller.uid);
    if state.eligible.get(&key).await?.is_none() {
        return Err(ApiError::forbidden("review a product of a completed order").into());
    }
    let review = Review {
        product_id: body.product_id.into_string(),
        buyer_id: caller.uid,
        stars: body.stars,
        text: body.text,
    };
    match state.reviews.create(&key, &review).await {
        Ok(_) => Ok((StatusCode::CREATED, Json(review))),
        Err(store::StoreError::AlreadyExists { .. }) => Err(ReviewError::AlreadyReviewed),
        Err(e) => Err(e.into()),
    }
}
