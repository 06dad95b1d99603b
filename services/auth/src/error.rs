//! The auth service's errors, their statuses and problem codes.

use std::time::Duration;

use common::ApiError;
use common::error::codes as shared;
use common::identity::KeyError;
use http::StatusCode;
use store::StoreError;

use crate::domain::firebase::FirebaseError;

common::problem_codes! {
    EMAIL_TAKEN = "email_taken",
    INVALID_CREDENTIALS = "invalid_credentials",
    INVALID_REFRESH_TOKEN = "invalid_refresh_token",
    REFRESH_TOKEN_REUSED = "refresh_token_reused",
    LAST_ADMIN_GUARD = "last_admin_guard",
    CONCURRENT_UPDATE = "concurrent_update",
}

/// Everything a request to the auth service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 409 `email_taken`: the address already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// 401 `invalid_credentials`: wrong email or password (the answer does
    /// not say which).
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// 429 `rate_limited` with `Retry-After`: too many failed logins on this
    /// account; wait.
    #[error("too many failed attempts; try again later")]
    Throttled(Duration),
    /// 401 `invalid_refresh_token`: the refresh token is unknown, expired or
    /// revoked.
    #[error("the refresh token is not valid")]
    InvalidRefresh,
    /// 401 `refresh_token_reused`: a used refresh token came back; its
    /// family is revoked.
    #[error("the refresh token was already used; sign in again")]
    RefreshReused,
    /// 403 `forbidden`: the account is disabled.
    #[error("the account is disabled")]
    Disabled,
    /// 401 `unauthenticated` with `WWW-Authenticate: Bearer`: no service of
    /// this name, or not its secret.
    #[error("unknown service or wrong secret")]
    UnknownService,
    /// 403 `forbidden`: a `service` identity asked for its profile.
    #[error("service identities have no profile")]
    NoProfile,
    /// 404 `not_found`: no account has this id.
    #[error("user {0} not found")]
    UserNotFound(String),
    /// 412 `precondition_failed`: `If-Match` names an older version.
    #[error("the profile changed since it was read")]
    StaleProfile,
    /// 412 `precondition_failed`: another write won while this one was saved.
    #[error("the profile changed while it was being saved")]
    ProfileChangedMeanwhile,
    /// 409 `last_admin_guard`: an admin tried to demote themselves.
    #[error("an admin cannot demote themselves")]
    SelfDemotion,
    /// The status and code of an already-shaped problem (422
    /// `validation_failed` from a `Validator`, 403 from `Caller::require`,
    /// 412 from a malformed `If-Match`…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// 409 `concurrent_update` for a write that lost a race; otherwise
    /// the shared answer of [`events::store_problem`] (503 while the store is
    /// down).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 503 `unavailable` with `Retry-After`: the identity provider
    /// (Firebase Auth) could not be reached or is failing.
    #[error("sign-in is unavailable just now; try again shortly")]
    ProviderUnavailable(String),
    /// 500 `internal`: a token could not be signed.
    #[error(transparent)]
    Signing(#[from] KeyError),
    /// 500 `internal`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// How long a client is asked to wait while Firebase Auth is failing.
const PROVIDER_RETRY: Duration = Duration::from_secs(5);

impl From<FirebaseError> for AuthError {
    /// A refusal the caller did not expect (a bad API key, a project
    /// without password sign-in) is this service's fault; an outage is
    /// the provider's.
    fn from(err: FirebaseError) -> Self {
        match err {
            FirebaseError::Unavailable(why) => AuthError::ProviderUnavailable(why),
            refused @ FirebaseError::Refused(_) => AuthError::Internal(refused.into()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let detail = err.to_string();
        match err {
            AuthError::EmailTaken => ApiError::conflict(codes::EMAIL_TAKEN, detail),
            AuthError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, codes::INVALID_CREDENTIALS, detail)
            }
            AuthError::Throttled(wait) => ApiError::too_many_requests(wait, detail),
            AuthError::InvalidRefresh => ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_REFRESH_TOKEN,
                detail,
            ),
            AuthError::RefreshReused => ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::REFRESH_TOKEN_REUSED,
                detail,
            ),
            AuthError::Disabled | AuthError::NoProfile => ApiError::forbidden(detail),
            AuthError::UnknownService => ApiError::unauthorized(detail),
            AuthError::UserNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, shared::NOT_FOUND, detail)
            }
            AuthError::StaleProfile | AuthError::ProfileChangedMeanwhile => {
                ApiError::precondition_failed(detail)
            }
            AuthError::SelfDemotion => ApiError::conflict(codes::LAST_ADMIN_GUARD, detail),
            AuthError::Api(api) => api,
            AuthError::Store(StoreError::Conflict { .. }) => ApiError::conflict(
                codes::CONCURRENT_UPDATE,
                "the record changed meanwhile; try again",
            ),
            AuthError::Store(e) => events::store_problem(e),
            AuthError::ProviderUnavailable(why) => {
                ApiError::unavailable(PROVIDER_RETRY, detail).with_source(anyhow::anyhow!(why))
            }
            AuthError::Signing(e) => ApiError::internal(e),
            AuthError::Internal(e) => ApiError::internal(e),
        }
    }
}

common::problem_response!(AuthError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<AuthError>();
    }

    #[test]
    fn the_services_codes_are_its_own() {
        for code in CODES {
            assert!(!shared::ALL.contains(code), "{code} is a shared code");
        }
    }

    #[test]
    fn each_variant_has_its_status_and_code() {
        let cases = [
            (AuthError::EmailTaken, 409, "email_taken"),
            (AuthError::InvalidCredentials, 401, "invalid_credentials"),
            (
                AuthError::Throttled(Duration::from_secs(2)),
                429,
                "rate_limited",
            ),
            (AuthError::InvalidRefresh, 401, "invalid_refresh_token"),
            (AuthError::RefreshReused, 401, "refresh_token_reused"),
            (AuthError::Disabled, 403, "forbidden"),
            (AuthError::UnknownService, 401, "unauthenticated"),
            (AuthError::NoProfile, 403, "forbidden"),
            (AuthError::UserNotFound("u1".into()), 404, "not_found"),
            (AuthError::StaleProfile, 412, "precondition_failed"),
            (
                AuthError::ProfileChangedMeanwhile,
                412,
                "precondition_failed",
            ),
            (AuthError::SelfDemotion, 409, "last_admin_guard"),
            (
                AuthError::Internal(anyhow::anyhow!("boom")),
                500,
                "internal",
            ),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.status().as_u16(), status, "{code}");
            assert_eq!(api.code(), code);
        }
    }
}
