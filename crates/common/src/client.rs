//! `ServiceClient`: how one service calls another over HTTP.
//!
//! Per-call timeout; bounded retries with jittered backoff, only for
//! idempotent requests (or ones carrying an `Idempotency-Key`) and only on
//! connect errors, 502, 503 and 504; the request id, a child `traceparent`
//! and the caller's bearer token go along (or, with no caller, this
//! service's own token); a problem+json answer comes back as a typed
//! [`ClientError::Problem`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::context::{self, RequestContext};
use crate::error::Problem;
use crate::tokens::TokenProvider;

mod error;

pub use error::ClientError;

/// `Idempotency-Key`.
pub static IDEMPOTENCY_KEY: http::HeaderName = http::HeaderName::from_static("idempotency-key");

/// Per-call choices.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Overrides the client's timeout for this call.
    pub timeout: Option<Duration>,
    /// Sent as `Idempotency-Key`; makes a POST safe to retry.
    pub idempotency_key: Option<String>,
    /// Call with this service's own token even inside a user's request.
    pub as_service: bool,
    /// Extra headers (e.g. `If-Match`).
    pub headers: HeaderMap,
}

/// A successful answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self, service: &'static str) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Decode {
            service,
            reason: e.to_string(),
        })
    }
}

/// An HTTP client for one target service.
#[derive(Clone)]
pub struct ServiceClient {
    inner: Arc<Inner>,
}

struct Inner {
    service: &'static str,
    base: Url,
    http: reqwest::Client,
    timeout: Duration,
    max_retries: u32,
    tokens: Option<Arc<dyn TokenProvider>>,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("service", &self.inner.service)
            .field("base", &self.inner.base.as_str())
            .finish()
    }
}

/// A shared reqwest client: rustls, pooled, short connect timeout. Every
/// client here says `no_gzip`: a dependency (gcloud-sdk) turns reqwest's
/// `gzip` feature on, which would otherwise make each client ask for and
/// silently inflate compressed answers.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// Why an answer's body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading the answer failed: {0}")]
    Transport(#[source] reqwest::Error),
}

/// The body of `response`, read no further than `max` bytes: an answer
/// from elsewhere never costs more memory than its caller can use.
pub async fn read_limited(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl ServiceClient {
    /// `service` names the target (for errors and logs); `base` is its URL.
    pub fn new(service: &'static str, base: Url, tokens: Option<Arc<dyn TokenProvider>>) -> Self {
        Self::with_http(service, base, tokens, http_client())
    }

    pub fn with_http(
        service: &'static str,
        base: Url,
        tokens: Option<Arc<dyn TokenProvider>>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                base,
                http,
                timeout: Duration::from_secs(10),
                max_retries: 2,
                tokens,
            }),
        }
    }

    /// The same client with another default timeout and retry budget.
    pub fn tuned(&self, timeout: Duration, max_retries: u32) -> Self {
        let i = &self.inner;
        Self {
            inner: Arc::new(Inner {
                service: i.service,
                base: i.base.clone(),
                http: i.http.clone(),
                timeout,
                max_retries,
                tokens: i.tokens.clone(),
            }),
        }
    }

    pub fn service(&self) -> &'static str {
        self.inner.service
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// GET `path` and decode JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(Method::GET, path, None, &CallOptions::default())
            .await?
            .json(self.inner.service)
    }

    /// POST a JSON body and decode the JSON answer.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        options: &CallOptions,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Decode {
            service: self.inner.service,
            reason: format!("encoding request: {e}"),
        })?;
        self.send(Method::POST, path, Some(Bytes::from(body)), options)
            .await?
            .json(self.inner.service)
    }

    /// Send a request with an optional body — JSON, unless
    /// `options.headers` names its `Content-Type`; 2xx is `Ok`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        json_body: Option<Bytes>,
        options: &CallOptions,
    ) -> Result<Reply, ClientError> {
        let service = self.inner.service;
        let url = self
            .inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::Decode {
                service,
                reason: format!("bad path {path:?}: {e}"),
            })?;
        let retryable = is_idempotent(&method) || options.idempotency_key.is_some();
        let attempts = if retryable {
            self.inner.max_retries + 1
        } else {
            1
        };
        let headers = self.headers(&url, options).await?;
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        let mut last = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let mut request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .timeout(timeout);
            if let Some(body) = &json_body {
                // JSON unless the caller named another type (a multipart form).
                if !headers.contains_key(http::header::CONTENT_TYPE) {
                    request = request.header(http::header::CONTENT_TYPE, "application/json");
                }
                request = request.body(body.clone());
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = response
                        .bytes()
                        .await
                        .map_err(|e| ClientError::Unavailable {
                            service,
                            reason: format!("reading the answer: {e}"),
                        });
                    let body = match body {
                        Ok(b) => b,
                        Err(e) => {
                            last = Some(e);
                            continue;
                        }
                    };
                    if status.is_success() || status.is_redirection() {
                        return Ok(Reply {
                            status,
                            headers,
                            body,
                        });
                    }
                    let err = ClientError::Problem {
                        service,
                        status,
                        problem: Box::new(problem_from(status, &body)),
                    };
                    if !matches!(status.as_u16(), 502..=504) {
                        return Err(err);
                    }
                    last = Some(err);
                }
                Err(e) => {
                    last = Some(ClientError::Unavailable {
                        service,
                        reason: if e.is_timeout() {
                            "timed out".to_owned()
                        } else {
                            e.to_string()
                        },
                    });
                    // A request that reached the server and timed out may
                    // have had its effect: only connect failures are retried.
                    if !e.is_connect() {
                        break;
                    }
                }
            }
        }
        Err(match last {
            Some(ClientError::Problem { status, .. }) => ClientError::Unavailable {
                service,
                reason: format!("answered {status}"),
            },
            Some(other) => other,
            None => ClientError::Unavailable {
                service,
                reason: "no attempt was made".to_owned(),
            },
        })
    }

    async fn headers(&self, url: &Url, options: &CallOptions) -> Result<HeaderMap, ClientError> {
        let service = self.inner.service;
        let mut headers = options.headers.clone();
        let ctx = RequestContext::current().unwrap_or_else(RequestContext::new_root);
        headers.insert(context::REQUEST_ID.clone(), ctx.request_id.header_value());
        if let Some(v) = ctx.trace.child().header_value() {
            headers.insert(context::TRACEPARENT.clone(), v);
        }
        if let Some(key) = &options.idempotency_key
            && let Ok(v) = HeaderValue::from_str(key)
        {
            headers.insert(IDEMPOTENCY_KEY.clone(), v);
        }
        let authorization = match (&ctx.authorization, options.as_service) {
            // The caller's own header, passed on as it came.
            (Some(caller), false) => Some(caller.clone()),
            _ => match &self.inner.tokens {
                Some(tokens) => {
                    let audience = origin(url);
                    let token = tokens
                        .token(&audience)
                        .await
                        .map_err(|e| ClientError::Token {
                            service,
                            reason: e.to_string(),
                        })?;
                    HeaderValue::from_str(&format!("Bearer {token}")).ok()
                }
                None => None,
            },
        };
        if let Some(v) = authorization {
            headers.insert(http::header::AUTHORIZATION, v);
        }
        Ok(headers)
    }
}

/// The audience of a Google OIDC token for a Cloud Run service: its origin.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Full-jitter exponential backoff: up to 100 ms, 200 ms, 400 ms, …
fn backoff(attempt: u32) -> Duration {
    let cap = 100u64.saturating_mul(1 << attempt.min(6));
    Duration::from_millis(rand::rng().random_range(cap / 4..=cap))
}

/// The problem in a body, or one made from the status.
fn problem_from(status: StatusCode, body: &[u8]) -> Problem {
    serde_json::from_slice::<Problem>(body).unwrap_or_else(|_| Problem {
        type_uri: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: None,
        code: format!("http_{}", status.as_u16()),
        request_id: None,
        errors: Vec::new(),
        extensions: serde_json::Map::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
