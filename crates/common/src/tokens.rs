//! Where a service gets the token it calls other services with when no user
//! is behind the call: locally a short-lived `service`-role token from the
//! auth service, exchanged for the service's secret; on Cloud Run a
//! Google-signed OIDC token for the target's audience from the metadata
//! server. Tokens are cached until shortly before they expire.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use crate::config::{ServiceAuthMode, SharedConfig};

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

/// A source of tokens for calls made on no user's behalf.
#[async_trait]
pub trait TokenProvider: Send + Sync + 'static {
    /// A bearer token valid for calling `audience` (the target's origin).
    async fn token(&self, audience: &str) -> Result<String, TokenError>;
}

/// The provider the configuration asks for, if this service has credentials.
pub fn from_config(config: &SharedConfig) -> Option<Arc<dyn TokenProvider>> {
    let auth = &config.service_auth;
    match auth.mode {
        ServiceAuthMode::Secret => auth.secret.clone().map(|secret| {
            Arc::new(AuthServiceTokens::new(
                auth.auth_url.clone(),
                config.service,
                secret,
            )) as Arc<dyn TokenProvider>
        }),
        ServiceAuthMode::Metadata => Some(Arc::new(MetadataServerTokens::new(
            auth.metadata_url.clone(),
        )) as Arc<dyn TokenProvider>),
    }
}

/// Refresh this long before a cached token expires.
const EARLY: Duration = Duration::from_secs(60);

/// Send a token request (at most five seconds) and read its answer;
/// `who` names the token's source in errors.
async fn fetch<T: serde::de::DeserializeOwned>(
    who: &str,
    request: reqwest::RequestBuilder,
) -> Result<T, TokenError> {
    let response = request
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| TokenError(format!("{who} unreachable: {e}")))?;
    if !response.status().is_success() {
        return Err(TokenError(format!("{who} refused: {}", response.status())));
    }
    response
        .json()
        .await
        .map_err(|e| TokenError(format!("bad token answer from {who}: {e}")))
}

/// One cached token, fetched again shortly before it expires; concurrent
/// callers wait for one fetch.
#[derive(Default)]
struct Cached(Mutex<Option<(String, Instant)>>);

impl Cached {
    /// The cached token, or `fetch`'s (a token and its lifetime).
    async fn get_or(
        &self,
        fetch: impl Future<Output = Result<(String, Duration), TokenError>>,
    ) -> Result<String, TokenError> {
        let mut cached = self.0.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = fetch.await?;
        *cached = Some((
            token.clone(),
            Instant::now() + lifetime.saturating_sub(EARLY),
        ));
        Ok(token)
    }
}

/// Body of `POST /auth/service-token`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTokenRequest {
    pub service: String,
    pub secret: String,
}

/// Answer of `POST /auth/service-token`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceTokenResponse {
    pub id_token: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Exchanges this service's secret at the auth service.
pub struct AuthServiceTokens {
    url: Url,
    service: &'static str,
    secret: SecretString,
    http: reqwest::Client,
    cached: Cached,
}

impl AuthServiceTokens {
    pub fn new(auth_url: Url, service: &'static str, secret: SecretString) -> Self {
        let url = auth_url.join("auth/service-token").unwrap_or(auth_url);
        Self {
            url,
            service,
            secret,
            http: crate::client::http_client(),
            cached: Cached::default(),
        }
    }
}

#[async_trait]
impl TokenProvider for AuthServiceTokens {
    async fn token(&self, _audience: &str) -> Result<String, TokenError> {
        self.cached
            .get_or(async {
                let body = ServiceTokenRequest {
                    service: self.service.to_owned(),
                    secret: self.secret.expose_secret().to_owned(),
                };
                let request = self.http.post(self.url.clone()).json(&body);
                let answer: ServiceTokenResponse = fetch("auth service", request).await?;
                Ok((answer.id_token, Duration::from_secs(answer.expires_in)))
            })
            .await
    }
}

/// Asks the Cloud Run metadata server for an OIDC ID token per audience.
pub struct MetadataServerTokens {
    base: Url,
    http: reqwest::Client,
    cached: Mutex<HashMap<String, (String, Instant)>>,
}

impl MetadataServerTokens {
    pub fn new(base: Url) -> Self {
        Self {
            base,
            http: crate::client::http_client(),
            cached: Mutex::new(HashMap::new()),
        }
    }
}

/// Google ID tokens live one hour.
const GOOGLE_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

#[async_trait]
impl TokenProvider for MetadataServerTokens {
    async fn token(&self, audience: &str) -> Result<String, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.get(audience)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let url = self
            .base
            .join("computeMetadata/v1/instance/service-accounts/default/identity")
            .map_err(|e| TokenError(e.to_string()))?;
        let response = self
            .http
            .get(url)
            .query(&[("audience", audience), ("format", "full")])
            .header("Metadata-Flavor", "Google")
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| TokenError(format!("metadata server unreachable: {e}")))?;
        if !response.status().is_success() {
            return Err(TokenError(format!(
                "metadata server refused: {}",
                response.status()
            )));
        }
        let token = response
            .text()
            .await
            .map_err(|e| TokenError(e.to_string()))?
            .trim()
            .to_owned();
        let until = Instant::now() + GOOGLE_TOKEN_LIFETIME.saturating_sub(EARLY * 5);
        cached.insert(audience.to_owned(), (token.clone(), until));
        Ok(token)
    }
}

/// Where, under the metadata server, Cloud Run hands out the service
/// account's OAuth access tokens (for Google APIs: Cloud Storage, Vertex
/// AI, Vision, Translation).
pub const METADATA_ACCESS_TOKEN_PATH: &str =
    "computeMetadata/v1/instance/service-accounts/default/token";

/// The service account's OAuth access token for Google APIs, from the
/// metadata server, cached until a minute before it expires.
pub struct GoogleAccessTokens {
    url: Url,
    http: reqwest::Client,
    cached: Cached,
}

#[derive(Deserialize)]
struct AccessTokenResponse {
    access_token: String,
    expires_in: u64,
}

impl GoogleAccessTokens {
    /// Tokens from the metadata server at `metadata`.
    pub fn new(metadata: &Url) -> Result<Self, TokenError> {
        Ok(Self {
            url: metadata
                .join(METADATA_ACCESS_TOKEN_PATH)
                .map_err(|e| TokenError(e.to_string()))?,
            http: crate::client::http_client(),
            cached: Cached::default(),
        })
    }

    /// A bearer token for Google APIs.
    pub async fn access_token(&self) -> Result<String, TokenError> {
        self.cached
            .get_or(async {
                let request = self
                    .http
                    .get(self.url.clone())
                    .header("Metadata-Flavor", "Google");
                let answer: AccessTokenResponse = fetch("metadata server", request).await?;
                Ok((answer.access_token, Duration::from_secs(answer.expires_in)))
            })
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn service_tokens_are_exchanged_once_and_cached() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth/service-token"))
            .and(body_json(
                serde_json::json!({"service": "product", "secret": "s3"}),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"id_token": "tok", "expires_in": 600})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let p = AuthServiceTokens::new(
            Url::parse(&server.uri()).unwrap(),
            "product",
            "s3".to_owned().into(),
        );
        assert_eq!(p.token("x").await.unwrap(), "tok");
        assert_eq!(p.token("x").await.unwrap(), "tok");
    }

    #[tokio::test]
    async fn metadata_server_is_asked_with_the_documented_request() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(
                "/computeMetadata/v1/instance/service-accounts/default/identity",
            ))
            .and(query_param("audience", "https://product-xyz.a.run.app"))
            .and(query_param("format", "full"))
            .and(header("Metadata-Flavor", "Google"))
            .respond_with(ResponseTemplate::new(200).set_body_string("eyJ.oidc.token\n"))
            .expect(1)
            .mount(&server)
            .await;
        let p = MetadataServerTokens::new(Url::parse(&server.uri()).unwrap());
        assert_eq!(
            p.token("https://product-xyz.a.run.app").await.unwrap(),
            "eyJ.oidc.token"
        );
        assert_eq!(
            p.token("https://product-xyz.a.run.app").await.unwrap(),
            "eyJ.oidc.token"
        );
    }
}
