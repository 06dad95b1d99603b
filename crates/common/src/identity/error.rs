//! Why a token was refused. Every message is safe to send to the client.

use super::source::KeyFetchError;

/// Why a bearer token was not accepted. All variants are 401-class except
/// [`VerifyError::KeysUnavailable`], which is ours to fix (503).
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    /// 401: not a compact JWS (three base64url parts, at most 8 KiB) or its
    /// header or claims are not the expected JSON.
    #[error("the token is malformed")]
    Malformed,
    /// 401: the header's `alg` is not `RS256`.
    #[error("the token's signing algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// 401: the header carries `jwk`, `jku`, `x5u`, `x5c` or `crit`.
    #[error("the token header carries a forbidden parameter")]
    ForbiddenHeader,
    /// 401: the header has no `kid`.
    #[error("the token header has no key id")]
    MissingKid,
    /// 401: the `kid` is too long or has characters outside `[A-Za-z0-9_-]`.
    #[error("the token's key id is invalid")]
    InvalidKid,
    /// 401: no published key has this `kid`.
    #[error("the token was signed with an unknown key")]
    UnknownKid,
    /// 401: the signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// 401: `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// 401: `iat`, `nbf` or `auth_time` is in the future.
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// 401: `iss` is not the expected issuer.
    #[error("the token was issued by an unexpected issuer")]
    WrongIssuer,
    /// 401: `aud` is not this audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// 401: `sub` is empty or longer than 128 characters.
    #[error("the token's subject is invalid")]
    InvalidSubject,
    /// 401: the token has no `role` claim.
    #[error("the token carries no role")]
    MissingRole,
    /// 401: the user's tokens issued before a time after this one's `iat`
    /// were revoked (disabled, role changed, signed out everywhere,
    /// password changed).
    #[error("the token has been revoked; sign in again")]
    Revoked,
    /// 401: a Google OIDC token whose email is unverified or not allowed.
    #[error("the service account is not allowed to call this service")]
    AccountNotAllowed,
    /// 503: no usable verification keys (the key source is failing and the
    /// cache is empty or too stale).
    #[error("token verification keys are unavailable")]
    KeysUnavailable(#[source] KeyFetchError),
}

impl VerifyError {
    /// Whether this is our failure (answer 503) rather than the caller's (401).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, VerifyError::KeysUnavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_unavailable_is_unavailable_and_hides_the_cause() {
        let err = VerifyError::KeysUnavailable(KeyFetchError::Status {
            source_name: "https://secret.internal/jwks".into(),
            status: 500,
        });
        assert!(err.is_unavailable());
        assert!(!err.to_string().contains("secret.internal"));
        assert!(!VerifyError::UnknownKid.is_unavailable());
    }
}
