//! The token issuer: ID tokens shaped like Firebase's, short-lived
//! `service`-role tokens against a service's secret, the published keys
//! and their rotation.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::config::IdentityConfig;
use common::identity::{Claims, FirebaseClaims, JwkSet, Role};
use common::tokens::ServiceTokenResponse;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::domain::keyring::KeyRing;
use crate::domain::users::User;
use crate::error::AuthError;

/// How long verifiers may cache the JWKS.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// What goes into an ID token.
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub uid: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub role: Role,
    pub auth_time: DateTime<Utc>,
    pub ttl_secs: u64,
    pub provider: &'a str,
}

impl IdTokenInput<'_> {
    pub fn claims(&self) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            iss: self.issuer.to_owned(),
            aud: self.audience.to_owned(),
            sub: self.uid.to_owned(),
            iat: now,
            exp: now + i64::try_from(self.ttl_secs).unwrap_or(3600),
            auth_time: Some(self.auth_time.timestamp()),
            user_id: Some(self.uid.to_owned()),
            email: self.email.map(str::to_owned),
            email_verified: self.email.map(|_| false),
            name: self.name.map(str::to_owned),
            role: Some(self.role),
            firebase: Some(FirebaseClaims {
                sign_in_provider: self.provider.to_owned(),
            }),
        }
    }
}

/// A key rotated in.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub kid: String,
    /// When it starts signing.
    pub signs_from: DateTime<Utc>,
}

/// Signs the tokens this service issues (`iss` and `aud` from the
/// identity configuration) with the key ring's active key.
#[derive(Clone)]
pub struct Issuer {
    keys: KeyRing,
    issuer: Arc<str>,
    audience: Arc<str>,
    settings: Arc<Settings>,
}

impl Issuer {
    pub fn new(keys: KeyRing, identity: &IdentityConfig, settings: Arc<Settings>) -> Self {
        Self {
            keys,
            issuer: identity.issuer.as_str().into(),
            audience: identity.audience.as_str().into(),
            settings,
        }
    }

    /// Seconds an ID token lives.
    pub fn id_token_ttl_secs(&self) -> u64 {
        self.settings.id_token_ttl_secs
    }

    /// Sign an ID token for `user`, who signed in at `auth_time`.
    pub async fn id_token(
        &self,
        uid: &str,
        user: &User,
        auth_time: DateTime<Utc>,
    ) -> Result<String, AuthError> {
        self.sign(&IdTokenInput {
            issuer: &self.issuer,
            audience: &self.audience,
            uid,
            email: Some(&user.email),
            name: Some(&user.display_name),
            role: user.role,
            auth_time,
            ttl_secs: self.settings.id_token_ttl_secs,
            provider: "password",
        })
        .await
    }

    /// A `service`-role token for `service`, if `secret` is its secret
    /// (compared in constant time).
    pub async fn service_token(
        &self,
        service: &str,
        secret: &str,
    ) -> Result<ServiceTokenResponse, AuthError> {
        let known = self.settings.service_secrets.get(service);
        let matches = known.is_some_and(|known| {
            bool::from(known.expose_secret().as_bytes().ct_eq(secret.as_bytes()))
        });
        if !matches {
            tracing::warn!(service, "service token refused");
            return Err(AuthError::UnknownService);
        }
        let ttl = self.settings.service_token_ttl_secs;
        let id_token = self
            .sign(&IdTokenInput {
                issuer: &self.issuer,
                audience: &self.audience,
                uid: &format!("service:{service}"),
                email: None,
                name: Some(service),
                role: Role::Service,
                auth_time: common::time::now(),
                ttl_secs: ttl,
                provider: "custom",
            })
            .await?;
        Ok(ServiceTokenResponse {
            id_token,
            expires_in: ttl,
        })
    }

    async fn sign(&self, input: &IdTokenInput<'_>) -> Result<String, AuthError> {
        Ok(self.keys.active().await.sign(&input.claims())?)
    }

    /// The published keys.
    pub async fn jwks(&self) -> JwkSet {
        self.keys.jwks().await
    }

    /// Rotate the signing key. The new key is published at once and signs
    /// once every verifier's cached JWKS has expired (or at once when
    /// `immediate`, for a compromised key); the old key stays published
    /// until every token it signed has expired.
    pub async fn rotate(&self, immediate: bool) -> Result<Rotation, AuthError> {
        let ahead = if immediate {
            Duration::ZERO
        } else {
            // Every verifier refetches within the JWKS lifetime, plus its
            // refetch interval for an unknown kid.
            JWKS_MAX_AGE + Duration::from_secs(30)
        };
        let signs_from =
            common::time::now() + chrono::Duration::from_std(ahead).map_err(anyhow::Error::from)?;
        let overlap = Duration::from_secs(self.settings.id_token_ttl_secs + 60);
        let kid = self.keys.rotate(signs_from, overlap).await?;
        Ok(Rotation { kid, signs_from })
    }
}
