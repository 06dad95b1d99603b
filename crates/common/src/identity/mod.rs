//! Identity: RS256 ID tokens shaped like Firebase's — signing keys and
//! their JWKS for the auth service, and for every service a verifier with a
//! key cache, the caller's role, and Google OIDC for service accounts.

mod cache;
mod documents;
mod error;
mod keys;
mod oidc;
mod revocations;
mod roles;
mod source;
mod verifier;

#[cfg(test)]
mod tests;

pub use error::VerifyError;
pub use keys::{Jwk, JwkSet, KeyError, SigningKey};
pub use oidc::{
    Authenticator, FIREBASE_X509_URL, GOOGLE_OIDC_ISSUER, GOOGLE_OIDC_JWKS_URL, OidcServiceAccounts,
};
pub use revocations::{MAX_CLOCK_SKEW_SECS, REMEMBER_SECS, RevocationTime, Revocations};
pub use roles::{Caller, Claims, FirebaseClaims, Role, UnknownRole};
pub use source::{FETCH_TIMEOUT, JwksUrl, KeyFetchError, KeySet, KeySource, StaticKeys, X509Url};
pub use verifier::{MAX_TOKEN_BYTES, Verifier, VerifierConfig};
