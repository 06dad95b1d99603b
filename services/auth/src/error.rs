//! The auth service's errors and their statuses.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use common::ApiError;
use http::StatusCode;
use store::StoreError;

/// Everything a request to the auth service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 409: the address already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// 401: wrong email or password (the answer does not say which).
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// 429: too many failed logins on this account; wait.
    #[error("too many failed attempts; try again later")]
    Throttled(Duration),
    /// 401: the refresh token is unknown, expired or revoked.
    #[error("the refresh token is not valid")]
    InvalidRefresh,
    /// 401: a used refresh token came back; its family is revoked.
    #[error("the refresh token was already used; sign in again")]
    RefreshReused,
    /// 403: the account is disabled.
    #[error("the account is disabled")]
    Disabled,
    /// Any already-shaped problem (validation, 403, 404…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// 500 (or 409/412 for precondition failures the handler did not expect).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let detail = err.to_string();
        match err {
            AuthError::EmailTaken => ApiError::conflict("email_taken", detail),
            AuthError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", detail)
            }
            AuthError::Throttled(wait) => ApiError::too_many_requests(wait, detail),
            AuthError::InvalidRefresh => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_refresh_token", detail)
            }
            AuthError::RefreshReused => {
                ApiError::new(StatusCode::UNAUTHORIZED, "refresh_token_reused", detail)
            }
            AuthError::Disabled => ApiError::forbidden(detail),
            AuthError::Api(api) => api,
            AuthError::Store(StoreError::Conflict { .. }) => ApiError::conflict(
                "concurrent_update",
                "the record changed meanwhile; try again",
            ),
            AuthError::Store(e) => ApiError::internal(e),
            AuthError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
