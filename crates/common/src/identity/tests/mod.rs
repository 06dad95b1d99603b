//! Tests of the whole identity module: hostile tokens, the key cache under
//! load, rotation and outages, the HTTP key sources, and authentication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks;
mod authenticator;
mod cache;
mod sources;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{
    JwkSet, KeyFetchError, KeySet, KeySource, SigningKey, StaticKeys, Verifier, VerifierConfig,
};

pub(super) const ISSUER: &str = "https://auth.craftchain.test";
pub(super) const AUDIENCE: &str = "craftchain";
pub(super) const JWKS_PATH: &str = "/.well-known/jwks.json";

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for a buyer, as JSON so tests can bend any member.
pub(super) fn claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "user_id": "user-1",
        "iat": now - 10,
        "auth_time": now - 10,
        "exp": now + 3600,
        "email": "user@example.com",
        "email_verified": true,
        "role": "buyer",
        "firebase": {"sign_in_provider": "password"},
    })
}

/// Short timings so cache tests run in well under a second.
pub(super) fn config() -> VerifierConfig {
    VerifierConfig {
        min_refetch_interval: Duration::from_millis(200),
        min_cache: Duration::from_secs(60),
        ..VerifierConfig::new(ISSUER, AUDIENCE)
    }
}

pub(super) fn static_verifier(keys: &[&SigningKey]) -> Verifier {
    let source = StaticKeys::from_jwk_set(&JwkSet::from_signing_keys(keys.iter().copied()));
    Verifier::new(config(), Arc::new(source))
}

/// Counts fetches of a wrapped source.
pub(super) struct Counting<S> {
    pub(super) inner: S,
    pub(super) fetches: Arc<AtomicUsize>,
}

impl<S> Counting<S> {
    pub(super) fn new(inner: S) -> (Self, Arc<AtomicUsize>) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let source = Counting {
            inner,
            fetches: fetches.clone(),
        };
        (source, fetches)
    }
}

#[async_trait]
impl<S: KeySource> KeySource for Counting<S> {
    async fn fetch(&self) -> Result<KeySet, KeyFetchError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Makes `server` answer the JWKS path with these keys (replacing any mock).
pub(super) async fn serve_jwks(server: &MockServer, keys: &[&SigningKey], max_age: Option<u64>) {
    server.reset().await;
    let mut response =
        ResponseTemplate::new(200).set_body_json(JwkSet::from_signing_keys(keys.iter().copied()));
    if let Some(seconds) = max_age {
        response = response.insert_header("cache-control", format!("public, max-age={seconds}"));
    }
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Makes `server` fail every request with 500.
pub(super) async fn fail_jwks(server: &MockServer) {
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(server)
        .await;
}

pub(super) fn jwks_url(server: &MockServer) -> url::Url {
    url::Url::parse(&format!("{}{JWKS_PATH}", server.uri())).unwrap()
}

pub(super) async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}
