//! Sessions: token refresh (rotating), logout (revoking the family), and
//! short-lived `service`-role tokens for services.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::ApiError;
use common::Json;
use common::identity::Role;
use common::tokens::{ServiceTokenRequest, ServiceTokenResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;
use store::{StoreError, Txn};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::domain::sessions::TokenPair as Session;
use crate::domain::sessions::{
    IdTokenInput, NewRefreshToken, RefreshToken, TokenFamily, refresh_key,
};
use crate::domain::users::User;
use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(service_token))
}

/// Sign an ID token for `user`.
async fn id_token(
    state: &AppState,
    uid: &str,
    user: &User,
    auth_time: DateTime<Utc>,
) -> Result<String, AuthError> {
    let input = IdTokenInput {
        issuer: &state.issuer,
        audience: &state.audience,
        uid,
        email: Some(&user.email),
        name: Some(&user.display_name),
        role: user.role,
        auth_time,
        ttl_secs: state.settings.id_token_ttl_secs,
        provider: "password",
    };
    Ok(state
        .keys
        .active()
        .await
        .sign(&input.claims())
        .map_err(anyhow::Error::from)?)
}

/// Start a new family for a fresh login and answer its first token pair.
pub(crate) async fn start_session(
    state: &AppState,
    uid: &str,
    user: &User,
) -> Result<Session, AuthError> {
    let now = common::time::now();
    let family_id = uuid::Uuid::new_v4().simple().to_string();
    let family = TokenFamily {
        uid: uid.to_owned(),
        auth_time: now,
        expires_at: now
            + chrono::Duration::days(i64::try_from(state.settings.refresh_ttl_days).unwrap_or(30)),
        revoked: false,
    };
    let token = NewRefreshToken::generate();
    state
        .store
        .transact(async |tx: &mut Txn| {
            tx.create(&family_id, &family)?;
            tx.create(
                &token.key,
                &RefreshToken {
                    family_id: family_id.clone(),
                    uid: uid.to_owned(),
                    created_at: now,
                    used_at: None,
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(Session {
        id_token: id_token(state, uid, user, now).await?,
        refresh_token: token.value,
        expires_in: state.settings.id_token_ttl_secs,
    })
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

enum Exchange {
    Rotated {
        user: Box<User>,
        uid: String,
        auth_time: DateTime<Utc>,
    },
    Reused,
}

/// Exchange a refresh token for a new pair; the old one is spent.
#[utoipa::path(post, path = "/auth/refresh", tag = "sessions", request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 401, description = "invalid, expired, revoked or reused")))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<Session>, AuthError> {
    let key = refresh_key(&body.refresh_token);
    let next = NewRefreshToken::generate();
    let now = common::time::now();
    let outcome = state
        .store
        .transact(async |tx: &mut Txn| {
            let Some(token) = tx.get::<RefreshToken>(&key).await? else {
                return Err(AuthError::InvalidRefresh);
            };
            let Some(mut family) = tx.get::<TokenFamily>(&token.value.family_id).await? else {
                return Err(AuthError::InvalidRefresh);
            };
            if family.value.revoked || family.value.expires_at <= now {
                return Err(AuthError::InvalidRefresh);
            }
            if token.value.used_at.is_some() {
                family.value.revoked = true;
                tx.update(&family)?;
                return Ok(Exchange::Reused);
            }
            let Some(user) = tx.get::<User>(&token.value.uid).await? else {
                return Err(AuthError::InvalidRefresh);
            };
            if user.value.disabled {
                return Err(AuthError::Disabled);
            }
            let mut spent = token.clone();
            spent.value.used_at = Some(now);
            tx.update(&spent)?;
            tx.create(
                &next.key,
                &RefreshToken {
                    family_id: token.value.family_id.clone(),
                    uid: token.value.uid.clone(),
                    created_at: now,
                    used_at: None,
                },
            )?;
            Ok(Exchange::Rotated {
                user: Box::new(user.value),
                uid: token.value.uid.clone(),
                auth_time: family.value.auth_time,
            })
        })
        .await?;
    match outcome {
        Exchange::Reused => {
            tracing::warn!("a used refresh token was presented again; its family is revoked");
            Err(AuthError::RefreshReused)
        }
        Exchange::Rotated {
            user,
            uid,
            auth_time,
        } => Ok(Json(Session {
            id_token: id_token(&state, &uid, &user, auth_time).await?,
            refresh_token: next.value,
            expires_in: state.settings.id_token_ttl_secs,
        })),
    }
}

/// End the session: every refresh token of its family stops working.
#[utoipa::path(post, path = "/auth/logout", tag = "sessions", request_body = RefreshRequest,
    responses((status = 204, description = "signed out (also when the token was already invalid)")))]
async fn logout(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, AuthError> {
    let key = refresh_key(&body.refresh_token);
    state
        .store
        .transact(async |tx: &mut Txn| {
            if let Some(token) = tx.get::<RefreshToken>(&key).await?
                && let Some(mut family) = tx.get::<TokenFamily>(&token.value.family_id).await?
                && !family.value.revoked
            {
                family.value.revoked = true;
                tx.update(&family)?;
            }
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A short-lived `service`-role token for a service, against its secret.
#[utoipa::path(post, path = "/auth/service-token", tag = "sessions", request_body = ServiceTokenRequest,
    responses((status = 200, body = ServiceTokenResponse), (status = 401, description = "unknown service or wrong secret")))]
async fn service_token(
    State(state): State<AppState>,
    Json(body): Json<ServiceTokenRequest>,
) -> Result<Json<ServiceTokenResponse>, AuthError> {
    let known = state.settings.service_secrets.get(&body.service);
    let matches = known.is_some_and(|secret| {
        bool::from(
            secret
                .expose_secret()
                .as_bytes()
                .ct_eq(body.secret.as_bytes()),
        )
    });
    if !matches {
        tracing::warn!(service = body.service, "service token refused");
        return Err(ApiError::unauthorized("unknown service or wrong secret").into());
    }
    let uid = format!("service:{}", body.service);
    let ttl = state.settings.service_token_ttl_secs;
    let input = IdTokenInput {
        issuer: &state.issuer,
        audience: &state.audience,
        uid: &uid,
        email: None,
        name: Some(&body.service),
        role: Role::Service,
        auth_time: common::time::now(),
        ttl_secs: ttl,
        provider: "custom",
    };
    let id_token = state
        .keys
        .active()
        .await
        .sign(&input.claims())
        .map_err(anyhow::Error::from)?;
    Ok(Json(ServiceTokenResponse {
        id_token,
        expires_in: ttl,
    }))
}
