//! Tests of the outbox, relay, push endpoint and dead letters together,
//! against real SQLite files and real HTTP (wiremock or the push router):
//! the shared fixtures here, the relay's tests and the push endpoint's.

mod push;
mod relay;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use common::config::SharedConfig;
use common::identity::{
    Authenticator, Claims, FirebaseClaims, JwkSet, Role, SigningKey, StaticKeys, Verifier,
    VerifierConfig,
};
use common::tokens::{TokenError, TokenProvider};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use prost::Message;
use store::{Store, StoreError, Txn};
use tower::ServiceExt;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::v1::UserRegistered;
use crate::{ConsumeError, Consumer, OutboxEntry, OutboxStatus, Publisher, Received, Relay};

pub(super) struct Issuer {
    key: SigningKey,
}

impl Issuer {
    pub(super) fn new() -> Self {
        Self {
            key: SigningKey::generate().unwrap(),
        }
    }

    pub(super) fn token(&self, uid: &str, role: Role) -> String {
        let now = chrono::Utc::now().timestamp();
        self.key
            .sign(&Claims {
                iss: "https://securetoken.google.com/craftchain-local".into(),
                aud: "craftchain-local".into(),
                sub: uid.into(),
                iat: now,
                exp: now + 600,
                auth_time: Some(now),
                user_id: Some(uid.into()),
                email: None,
                email_verified: None,
                name: None,
                role: Some(role),
                firebase: Some(FirebaseClaims {
                    sign_in_provider: "custom".into(),
                }),
            })
            .unwrap()
    }

    pub(super) fn authenticator(&self) -> Arc<Authenticator> {
        Arc::new(Authenticator::new(Verifier::new(
            VerifierConfig::new(
                "https://securetoken.google.com/craftchain-local",
                "craftchain-local",
            ),
            Arc::new(StaticKeys::from_jwk_set(&JwkSet::from_signing_keys([
                &self.key,
            ]))),
        )))
    }
}

pub(super) struct FixedToken(pub(super) String);

#[async_trait]
impl TokenProvider for FixedToken {
    async fn token(&self, _audience: &str) -> Result<String, TokenError> {
        Ok(self.0.clone())
    }
}

pub(super) fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (
        Store::open_sqlite(dir.path().join("s.sqlite")).unwrap(),
        dir,
    )
}

pub(super) fn shared(subscriber: &str, max_attempts: u32) -> SharedConfig {
    let mut shared = SharedConfig::local("auth", 0);
    shared
        .events
        .subscriptions
        .insert("user.registered".into(), vec![subscriber.parse().unwrap()]);
    shared.events.max_attempts = max_attempts;
    shared.events.initial_backoff_ms = 1;
    shared.events.max_backoff_ms = 1;
    shared
}

pub(super) async fn emit(store: &Store, subject: &str) -> String {
    let publisher = Publisher::new("auth");
    store
        .transact(async |tx: &mut Txn| {
            publisher.emit(
                tx,
                subject,
                &UserRegistered {
                    user_id: subject.into(),
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap()
}

pub(super) async fn entry(store: &Store, id: &str) -> OutboxEntry {
    store
        .collection::<OutboxEntry>()
        .get(id)
        .await
        .unwrap()
        .unwrap()
        .value
}

/// Run relay passes until nothing is due or `n` passes are done.
pub(super) async fn passes(relay: &Relay, n: usize) {
    for _ in 0..n {
        relay.pass().await.unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}
