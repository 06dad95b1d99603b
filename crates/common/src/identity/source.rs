//! Where verification keys come from: a JWKS URL, Google's x509 certificate
//! map, or a fixed set held in memory.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use url::Url;

use super::documents::{keys_from_jwks, keys_from_x509_map, max_age, rsa_key_from_jwk};
use super::keys::JwkSet;

/// How long one key fetch may take, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest key document we read.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Verification keys by kid, and how long the source says they stay fresh.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// RS256 public keys by kid.
    pub keys: HashMap<String, DecodingKey>,
    /// `Cache-Control: max-age` of the response, when there was one.
    pub max_age: Option<Duration>,
}

/// Why keys could not be fetched. Cloneable so the cache can remember it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyFetchError {
    /// The request failed (connection, timeout, reading the body).
    #[error("fetching keys from {source_name} failed: {message}")]
    Request {
        /// The source, as `KeySource::describe` says.
        source_name: String,
        /// The HTTP client's error chain.
        message: String,
    },
    /// The source answered with a non-2xx status.
    #[error("{source_name} answered HTTP {status}")]
    Status {
        /// The source, as `KeySource::describe` says.
        source_name: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The document is not the expected JSON or is too large.
    #[error("{source_name} returned an unusable key document: {message}")]
    Body {
        /// The source, as `KeySource::describe` says.
        source_name: String,
        /// What was wrong with it.
        message: String,
    },
    /// The document holds no usable RS256 key.
    #[error("{source_name} published no usable RS256 keys")]
    NoKeys {
        /// The source, as `KeySource::describe` says.
        source_name: String,
    },
}

/// Somewhere to get the current verification keys from.
#[async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// Fetches the current keys.
    async fn fetch(&self) -> Result<KeySet, KeyFetchError>;
    /// Names the source in logs and errors (e.g. its URL).
    fn describe(&self) -> String;
}

/// A JWKS document (`{"keys": [...]}`) served over HTTP. Only RSA keys
/// with `alg` RS256 (or none), `use` sig (or none), a valid kid and a
/// modulus of at least 2048 bits are taken; others are ignored.
pub struct JwksUrl {
    client: reqwest::Client,
    url: Url,
}

impl JwksUrl {
    /// A source reading `url` with its own HTTP client.
    pub fn new(url: Url) -> Result<Self, KeyFetchError> {
        Ok(JwksUrl::with_client(http_client(&url)?, url))
    }

    /// A source reading `url` with a shared client (a 5 s timeout is set
    /// on each request).
    pub fn with_client(client: reqwest::Client, url: Url) -> Self {
        JwksUrl { client, url }
    }
}

impl fmt::Debug for JwksUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwksUrl({})", self.url)
    }
}

#[async_trait]
impl KeySource for JwksUrl {
    async fn fetch(&self) -> Result<KeySet, KeyFetchError> {
        let (body, max_age) = get(&self.client, &self.url).await?;
        let keys = keys_from_jwks(&body).map_err(|message| KeyFetchError::Body {
            source_name: self.describe(),
            message,
        })?;
        Ok(KeySet { keys, max_age })
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }
}

/// Google's x509 format: `{"<kid>": "-----BEGIN CERTIFICATE-----…"}`, as
/// served for Firebase ID tokens and Google OIDC tokens.
pub struct X509Url {
    client: reqwest::Client,
    url: Url,
}

impl X509Url {
    /// A source reading `url` with its own HTTP client.
    pub fn new(url: Url) -> Result<Self, KeyFetchError> {
        Ok(X509Url::with_client(http_client(&url)?, url))
    }

    /// A source reading `url` with a shared client (a 5 s timeout is set
    /// on each request).
    pub fn with_client(client: reqwest::Client, url: Url) -> Self {
        X509Url { client, url }
    }
}

impl fmt::Debug for X509Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X509Url({})", self.url)
    }
}

#[async_trait]
impl KeySource for X509Url {
    async fn fetch(&self) -> Result<KeySet, KeyFetchError> {
        let (body, max_age) = get(&self.client, &self.url).await?;
        let keys = keys_from_x509_map(&body).map_err(|message| KeyFetchError::Body {
            source_name: self.describe(),
            message,
        })?;
        Ok(KeySet { keys, max_age })
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }
}

/// A fixed key set, for tests and for verifying our own tokens in-process.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    keys: KeySet,
}

impl StaticKeys {
    /// Serves exactly this key set.
    pub fn new(keys: KeySet) -> Self {
        StaticKeys { keys }
    }

    /// The usable keys of a JWKS document.
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyFetchError> {
        let keys = keys_from_jwks(json.as_bytes()).map_err(|message| KeyFetchError::Body {
            source_name: "static keys".into(),
            message,
        })?;
        Ok(StaticKeys::new(KeySet {
            keys,
            max_age: None,
        }))
    }

    /// The usable keys of a JWK set.
    pub fn from_jwk_set(set: &JwkSet) -> Self {
        let keys = set.keys.iter().filter_map(rsa_key_from_jwk).collect();
        StaticKeys::new(KeySet {
            keys,
            max_age: None,
        })
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    async fn fetch(&self) -> Result<KeySet, KeyFetchError> {
        Ok(self.keys.clone())
    }

    fn describe(&self) -> String {
        format!("static keys ({} keys)", self.keys.keys.len())
    }
}

fn http_client(url: &Url) -> Result<reqwest::Client, KeyFetchError> {
    reqwest::Client::builder()
        .no_gzip()
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| KeyFetchError::Request {
            source_name: url.to_string(),
            message: error_chain(&e),
        })
}

/// GETs `url`: the body (at most 1 MiB) and the `max-age` it may be cached for.
async fn get(
    client: &reqwest::Client,
    url: &Url,
) -> Result<(Vec<u8>, Option<Duration>), KeyFetchError> {
    let request_error = |e: reqwest::Error| KeyFetchError::Request {
        source_name: url.to_string(),
        message: error_chain(&e),
    };
    let response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(request_error)?;
    if !response.status().is_success() {
        return Err(KeyFetchError::Status {
            source_name: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let max_age = max_age(response.headers());
    let body = crate::client::read_limited(response, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            crate::client::ReadError::Transport(e) => request_error(e),
            too_large @ crate::client::ReadError::TooLarge(_) => KeyFetchError::Body {
                source_name: url.to_string(),
                message: too_large.to_string(),
            },
        })?;
    Ok((body, max_age))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::identity::keys::SigningKey;

    #[tokio::test]
    async fn static_keys_serve_a_jwk_set() {
        let key = SigningKey::generate().unwrap();
        let set = JwkSet::from_signing_keys([&key]);
        let from_set = StaticKeys::from_jwk_set(&set).fetch().await.unwrap();
        assert!(from_set.keys.contains_key(key.kid()));
        let json = serde_json::to_string(&set).unwrap();
        let from_json = StaticKeys::from_jwks_json(&json).unwrap();
        assert!(
            from_json
                .fetch()
                .await
                .unwrap()
                .keys
                .contains_key(key.kid())
        );
        assert!(StaticKeys::from_jwks_json("[]").is_err());
    }
}
