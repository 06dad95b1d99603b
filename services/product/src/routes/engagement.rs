//! Engagement: likes (one per user, undoable) and shares. Views are
//! counted by `GET /products/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use common::{Caller, Id, Json, Path, schema};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::engagement::{self, CHANNELS, Engagement};
use crate::error::ProductError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(like, unlike))
        .routes(routes!(share))
}

/// Counters after a like, unlike or share.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Counters {
    pub liked: bool,
    pub engagement: Engagement,
}

/// Like a product (once per user; liking again changes nothing).
#[utoipa::path(put, path = "/products/{id}/like", tag = "engagement", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = Counters), (status = 404)))]
async fn like(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<Counters>, ProductError> {
    let engagement = engagement::set_like(&state, &caller, &id, true).await?;
    Ok(Json(Counters {
        liked: true,
        engagement,
    }))
}

/// Undo a like.
#[utoipa::path(delete, path = "/products/{id}/like", tag = "engagement", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = Counters), (status = 404)))]
async fn unlike(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<Counters>, ProductError> {
    let engagement = engagement::set_like(&state, &caller, &id, false).await?;
    Ok(Json(Counters {
        liked: false,
        engagement,
    }))
}

/// `POST /products/{id}/share`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    #[schema(schema_with = channel_schema)]
    pub channel: String,
}

fn channel_schema() -> ObjectBuilder {
    schema::string_enum(CHANNELS.iter().copied()).description(Some("Where it was shared."))
}

/// Record a share.
#[utoipa::path(post, path = "/products/{id}/share", tag = "engagement", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = ShareBody,
    responses((status = 202, description = "counted"), (status = 404), (status = 422)))]
async fn share(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(body): Json<ShareBody>,
) -> Result<StatusCode, ProductError> {
    engagement::share(&state, &caller, &id, &body.channel).await?;
    Ok(StatusCode::ACCEPTED)
}
