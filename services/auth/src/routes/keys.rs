//! The published signing keys (JWKS) and their rotation.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use common::identity::{JwkSet, Role};
use common::{Caller, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::tokens::JWKS_MAX_AGE;
use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(rotate))
}

/// The public keys that verify CraftChain ID tokens.
#[utoipa::path(get, path = "/auth/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JWKS", headers(("Cache-Control" = String)))))]
async fn jwks(State(state): State<AppState>) -> Response {
    let set: JwkSet = state.issuer.jwks().await;
    let mut response = Json(set).into_response();
    let cache = format!("public, max-age={}", JWKS_MAX_AGE.as_secs());
    if let Ok(v) = header::HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}

/// `POST /auth/keys/rotate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Sign with the new key at once (a compromised key). By default the
    /// new key is published first and signs only once every verifier's
    /// cached JWKS has expired.
    #[serde(default)]
    pub immediate: bool,
}

/// The new signing key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rotated {
    pub kid: String,
    /// When it starts signing.
    pub signs_from: chrono::DateTime<chrono::Utc>,
}

/// Rotate the signing key (admin). The new key is published at once and
/// signs after the JWKS cache lifetime (or at once with `immediate`); the
/// old key stays published until every token it signed has expired.
#[utoipa::path(post, path = "/auth/keys/rotate", tag = "keys", security(("bearer" = [])),
    request_body = RotateRequest, responses((status = 200, body = Rotated), (status = 403)))]
async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<RotateRequest>,
) -> Result<Json<Rotated>, AuthError> {
    caller.require(&[Role::Admin])?;
    let rotation = state.issuer.rotate(request.immediate).await?;
    Ok(Json(Rotated {
        kid: rotation.kid,
        signs_from: rotation.signs_from,
    }))
}
