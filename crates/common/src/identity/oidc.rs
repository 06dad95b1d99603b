//! Authenticating a bearer token: our own ID tokens (users and `service`
//! role), and in production Google OIDC tokens of allowed service accounts
//! (e.g. Pub/Sub push).

use std::sync::Arc;

use url::Url;

use super::error::VerifyError;
use super::revocations::Revocations;
use super::roles::{Caller, Role};
use super::source::{JwksUrl, KeyFetchError};
use super::verifier::{Verifier, VerifierConfig, peek_issuer};

/// The `iss` of Google-signed OIDC tokens.
pub const GOOGLE_OIDC_ISSUER: &str = "https://accounts.google.com";
/// Google's JWKS for OIDC tokens.
pub const GOOGLE_OIDC_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// Google's x509 map for Firebase ID tokens (use with `X509Url`).
pub const FIREBASE_X509_URL: &str =
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com";

/// Google OIDC tokens from an allow-list of service accounts; each becomes
/// a `service` caller whose uid is the account email.
#[derive(Debug, Clone)]
pub struct OidcServiceAccounts {
    verifier: Verifier,
    allowed_emails: Vec<String>,
}

impl OidcServiceAccounts {
    /// Accepts tokens `verifier` accepts from the listed accounts (compared
    /// case-insensitively).
    pub fn new(verifier: Verifier, allowed_emails: Vec<String>) -> Self {
        let allowed_emails = allowed_emails
            .into_iter()
            .map(|email| email.trim().to_ascii_lowercase())
            .collect();
        OidcServiceAccounts {
            verifier,
            allowed_emails,
        }
    }

    /// Google's issuer and keys; `audience` is the receiving service's URL.
    pub fn google(audience: &str, allowed_emails: Vec<String>) -> Result<Self, KeyFetchError> {
        let url = Url::parse(GOOGLE_OIDC_JWKS_URL).map_err(|e| KeyFetchError::Body {
            source_name: GOOGLE_OIDC_JWKS_URL.into(),
            message: e.to_string(),
        })?;
        let verifier = Verifier::new(
            VerifierConfig::new(GOOGLE_OIDC_ISSUER, audience),
            Arc::new(JwksUrl::new(url)?),
        );
        Ok(OidcServiceAccounts::new(verifier, allowed_emails))
    }

    /// The issuer these tokens come from.
    pub fn issuer(&self) -> &str {
        &self.verifier.config().issuer
    }

    /// Fetches Google's keys now.
    pub async fn warm(&self) -> Result<(), VerifyError> {
        self.verifier.warm().await
    }

    /// A `service` caller, if the token verifies and its verified email is
    /// on the allow-list.
    pub async fn verify(&self, token: &str) -> Result<Caller, VerifyError> {
        let claims = self.verifier.verify(token).await?;
        let email = claims
            .email
            .filter(|_| claims.email_verified == Some(true))
            .map(|email| email.to_ascii_lowercase())
            .ok_or(VerifyError::AccountNotAllowed)?;
        if !self.allowed_emails.contains(&email) {
            return Err(VerifyError::AccountNotAllowed);
        }
        Ok(Caller {
            uid: email.clone(),
            email: Some(email),
            role: Role::Service,
        })
    }
}

/// Turns a bearer token into a [`Caller`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Authenticator {
    primary: Verifier,
    google: Option<OidcServiceAccounts>,
    revocations: Arc<Revocations>,
}

impl Authenticator {
    /// Accepts what `primary` verifies (user and `service`-role tokens).
    pub fn new(primary: Verifier) -> Self {
        Authenticator {
            primary,
            google: None,
            revocations: Arc::default(),
        }
    }

    /// Also accepts Google OIDC tokens of allowed service accounts.
    pub fn with_google_oidc(mut self, oidc: OidcServiceAccounts) -> Self {
        self.google = Some(oidc);
        self
    }

    /// The users' "tokens valid after" times this authenticator checks
    /// (fed by `user.tokens_revoked`).
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// The verifier for our own tokens.
    pub fn primary(&self) -> &Verifier {
        &self.primary
    }

    /// Fetches the keys of every configured issuer now.
    pub async fn warm(&self) -> Result<(), VerifyError> {
        self.primary.warm().await?;
        if let Some(google) = &self.google {
            google.warm().await?;
        }
        Ok(())
    }

    /// The caller a bearer token (without the `Bearer ` prefix) stands for.
    /// A token whose unverified `iss` is Google's goes to the OIDC verifier
    /// when one is configured; everything else to the primary verifier.
    pub async fn authenticate(&self, bearer_token: &str) -> Result<Caller, VerifyError> {
        if let Some(google) = &self.google
            && peek_issuer(bearer_token).as_deref() == Some(google.issuer())
        {
            return google.verify(bearer_token).await;
        }
        let claims = self.primary.verify(bearer_token).await?;
        if self.revocations.is_revoked(&claims.sub, claims.iat) {
            return Err(VerifyError::Revoked);
        }
        Caller::from_claims(&claims)
    }
}
