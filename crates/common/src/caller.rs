//! The `Caller` extractor: verifies the bearer token (again, behind the
//! gateway: defence in depth) and gives the handler who is calling.
//! A missing or invalid token is 401 problem+json with
//! `WWW-Authenticate: Bearer`; keys that cannot be fetched are 503.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::config::IdentityConfig;
use crate::context::{self, RequestContext};
use crate::error::ApiError;
use crate::identity::{
    Authenticator, Caller, JwksUrl, KeyFetchError, KeySource, OidcServiceAccounts, Role, Verifier,
    VerifierConfig, VerifyError, X509Url,
};

impl From<VerifyError> for ApiError {
    fn from(err: VerifyError) -> Self {
        if err.is_unavailable() {
            ApiError::unavailable(
                Duration::from_secs(5),
                "token keys are unavailable; try again shortly",
            )
            .with_source(err)
        } else {
            ApiError::unauthorized(err.to_string())
        }
    }
}

/// The authenticator the identity configuration describes: the primary
/// verifier (JWKS or x509 keys) and, when configured, Google OIDC tokens of
/// allowed service accounts.
pub fn authenticator(config: &IdentityConfig) -> Result<Authenticator, KeyFetchError> {
    let source: Arc<dyn KeySource> = match (&config.x509_url, &config.jwks_url) {
        (Some(x509), _) => Arc::new(X509Url::new(x509.clone())?),
        (None, Some(jwks)) => Arc::new(JwksUrl::new(jwks.clone())?),
        (None, None) => {
            return Err(KeyFetchError::NoKeys {
                source_name: "no identity.jwks_url or identity.x509_url configured".to_owned(),
            });
        }
    };
    let verifier = Verifier::new(
        VerifierConfig::new(config.issuer.clone(), config.audience.clone()),
        source,
    );
    let mut auth = Authenticator::new(verifier);
    if let Some(audience) = &config.oidc_audience {
        let google = Verifier::new(
            VerifierConfig::new(crate::identity::GOOGLE_OIDC_ISSUER, audience.clone()),
            Arc::new(JwksUrl::new(config.oidc_jwks_url.clone())?),
        );
        auth = auth.with_google_oidc(OidcServiceAccounts::new(
            google,
            config.oidc_allowed_emails.clone(),
        ));
    }
    Ok(auth)
}

async fn authenticate(parts: &Parts, auth: &Authenticator) -> Result<Option<Caller>, ApiError> {
    let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(context::bearer_token)
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    let caller = auth.authenticate(token).await?;
    RequestContext::record_user(&caller.uid);
    Ok(Some(caller))
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        authenticate(parts, &auth)
            .await?
            .ok_or_else(|| ApiError::unauthorized("this endpoint needs a bearer token"))
    }
}

impl<S> OptionalFromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    /// No `Authorization` header → `None`; a bad token is still 401.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        authenticate(parts, &auth).await
    }
}

impl Caller {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "this needs the role {}",
                names.join(" or ")
            )))
        }
    }

    /// 403 unless the caller owns the thing (`owner` is its uid) or is an admin.
    pub fn require_owner_or_admin(&self, owner: &str) -> Result<(), ApiError> {
        if self.uid == owner || self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the owner or an admin may do this",
            ))
        }
    }
}
