//! The published signing keys (JWKS) and their rotation.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use common::identity::{JwkSet, Role};
use common::{Caller, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(rotate))
}

/// How long verifiers may cache the JWKS.
const JWKS_MAX_AGE_SECS: u64 = 300;

/// The public keys that verify CraftChain ID tokens.
#[utoipa::path(get, path = "/auth/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JWKS", headers(("Cache-Control" = String)))))]
async fn jwks(State(state): State<AppState>) -> Response {
    let set: JwkSet = state.keys.jwks().await;
    let mut response = Json(set).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}

/// The new signing key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rotated {
    pub kid: String,
}

/// Start signing with a new key (admin). The old key stays published until
/// every token it signed has expired.
#[utoipa::path(post, path = "/auth/keys/rotate", tag = "keys", security(("bearer" = [])),
    responses((status = 200, body = Rotated), (status = 403)))]
async fn rotate(State(state): State<AppState>, caller: Caller) -> Result<Json<Rotated>, AuthError> {
    caller.require(&[Role::Admin])?;
    let overlap = Duration::from_secs(state.settings.id_token_ttl_secs + JWKS_MAX_AGE_SECS + 60);
    let kid = state.keys.rotate(overlap).await?;
    Ok(Json(Rotated { kid }))
}
