//! Sessions: token refresh (rotating), logout (revoking the family),
//! signing out everywhere, password changes, the revocations in force, and
//! short-lived `service`-role tokens for services.

use axum::extract::State;
use axum::http::StatusCode;
use common::identity::{RevocationTime, Role};
use common::tokens::{ServiceTokenRequest, ServiceTokenResponse};
use common::{Caller, Json, Page, PageParams, Query};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::schemas::password_schema;
use crate::domain::sessions::{Ended, TokenPair};
use crate::error::AuthError;
use crate::state::{AppState, ClientAddress};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_everywhere))
        .routes(routes!(revocations))
        .routes(routes!(change_password))
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

/// End the session: every refresh token of its family stops working. With
/// Firebase, an account that has ended the most sessions on record is
/// signed out everywhere instead (see `MAX_ENDED_SESSIONS`).
#[utoipa::path(post, path = "/auth/logout", tag = "sessions", request_body = RefreshRequest,
    responses((status = 204, description = "signed out (also when the token was already invalid)")))]
async fn logout(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, AuthError> {
    match state.sessions.end(&body.refresh_token).await? {
        Ended::Done => {}
        Ended::SignOutEverywhere(uid) => match state.accounts.sign_out_everywhere(&uid).await {
            // A Firebase account without a profile here: Firebase has
            // ended its sessions, and no refresh of it is taken here.
            Ok(()) | Err(AuthError::UserNotFound(_)) => {}
            Err(e) => return Err(e),
        },
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out everywhere: every session of the caller ends and every ID token
/// of theirs is refused, here at once and at every service within seconds
/// (`user.tokens_revoked`).
#[utoipa::path(post, path = "/auth/logout-all", tag = "sessions", security(("bearer" = [])),
    responses((status = 204, description = "signed out everywhere"), (status = 401), (status = 403)))]
async fn logout_everywhere(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, AuthError> {
    if caller.is(Role::Service) {
        return Err(AuthError::NoProfile);
    }
    state.accounts.sign_out_everywhere(&caller.uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every revocation still in force: what a service starting up loads into
/// its authenticator (`common::identity::Revocations::load`), since the
/// `user.tokens_revoked` events reach only the services running when they
/// are sent. Services and admins only.
#[utoipa::path(get, path = "/auth/revocations", tag = "sessions", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<RevocationTime>), (status = 401), (status = 403),
        (status = 422, description = "invalid `limit` or `cursor`")))]
async fn revocations(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<RevocationTime>>, AuthError> {
    caller.require(&[Role::Service, Role::Admin])?;
    Ok(Json(state.accounts.revocations(&params).await?))
}

/// `POST /auth/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    #[schema(schema_with = password_schema)]
    pub new_password: SecretString,
}

/// Change the caller's password, proving the current one (counted like a
/// login). Every other session and ID token of theirs stops working; the
/// answer is a fresh pair for this one.
#[utoipa::path(post, path = "/auth/password", tag = "sessions", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 200, body = TokenPair), (status = 401, description = "no valid token"),
        (status = 422, description = "the current password is wrong (`current_password`), or the new one breaks the policy"),
        (status = 429, description = "too many recent failures")))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddress(client): ClientAddress,
    Json(body): Json<PasswordChange>,
) -> Result<Json<TokenPair>, AuthError> {
    if caller.is(Role::Service) {
        return Err(AuthError::NoProfile);
    }
    let user = state.accounts.get(&caller.uid).await?;
    // A wrong current password is a bad field, not a bad session: 401
    // would tell clients to drop a token that is fine.
    match state
        .accounts
        .authenticate(&user.value.email, body.current_password, client)
        .await
    {
        Err(AuthError::InvalidCredentials) => {
            return Err(common::ApiError::invalid_field(
                "current_password",
                "wrong_password",
                "is not the account's password",
            )
            .into());
        }
        other => other?,
    };
    let (saved, provided) = state
        .accounts
        .change_password(&caller.uid, body.new_password)
        .await?;
    Ok(Json(
        state
            .sessions
            .begin(&saved.id, &saved.value, provided)
            .await?,
    ))
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
