//! Sessions: token refresh (rotating), logout (revoking the family), and
//! short-lived `service`-role tokens for services.

use axum::extract::State;
use axum::http::StatusCode;
use common::Json;
use common::tokens::{ServiceTokenRequest, ServiceTokenResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::sessions::TokenPair;
use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(service_token))
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new pair; the old one is spent.
#[utoipa::path(post, path = "/auth/refresh", tag = "sessions", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, description = "invalid, expired, revoked or reused"),
        (status = 403, description = "the account is disabled")))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenPair>, AuthError> {
    Ok(Json(state.sessions.refresh(&body.refresh_token).await?))
}

/// End the session: every refresh token of its family stops working.
#[utoipa::path(post, path = "/auth/logout", tag = "sessions", request_body = RefreshRequest,
    responses((status = 204, description = "signed out (also when the token was already invalid)")))]
async fn logout(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, AuthError> {
    state.sessions.end(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A short-lived `service`-role token for a service, against its secret.
#[utoipa::path(post, path = "/auth/service-token", tag = "sessions", request_body = ServiceTokenRequest,
    responses((status = 200, body = ServiceTokenResponse), (status = 401, description = "unknown service or wrong secret")))]
async fn service_token(
    State(state): State<AppState>,
    Json(body): Json<ServiceTokenRequest>,
) -> Result<Json<ServiceTokenResponse>, AuthError> {
    Ok(Json(
        state
            .issuer
            .service_token(&body.service, &body.secret)
            .await?,
    ))
}
