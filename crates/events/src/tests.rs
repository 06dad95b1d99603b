//! Tests of the outbox, relay, push endpoint and dead letters together,
//! against real SQLite files and real HTTP (wiremock or the push router).

#![allow(clippy::unwrap_used, clippy::expect_used)]

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

struct Issuer {
    key: SigningKey,
}

impl Issuer {
    fn new() -> Self {
        Self {
            key: SigningKey::generate().unwrap(),
        }
    }

    fn token(&self, uid: &str, role: Role) -> String {
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

    fn authenticator(&self) -> Arc<Authenticator> {
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

struct FixedToken(String);

#[async_trait]
impl TokenProvider for FixedToken {
    async fn token(&self, _audience: &str) -> Result<String, TokenError> {
        Ok(self.0.clone())
    }
}

fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (
        Store::open_sqlite(dir.path().join("s.sqlite")).unwrap(),
        dir,
    )
}

fn shared(subscriber: &str, max_attempts: u32) -> SharedConfig {
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

async fn emit(store: &Store, subject: &str) -> String {
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

async fn entry(store: &Store, id: &str) -> OutboxEntry {
    store
        .collection::<OutboxEntry>()
        .get(id)
        .await
        .unwrap()
        .unwrap()
        .value
}

/// Run relay passes until nothing is due or `n` passes are done.
async fn passes(relay: &Relay, n: usize) {
    for _ in 0..n {
        relay.pass().await.unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

#[tokio::test]
async fn relay_pushes_in_pubsub_push_format_with_a_bearer_token() {
    let (store, _dir) = store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events/push"))
        .and(header("authorization", "Bearer svc-token"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let id = emit(&store, "u1").await;
    let relay = Relay::new(&store, &shared(&format!("{}/events/push", server.uri()), 5))
        .with_tokens(Some(Arc::new(FixedToken("svc-token".into()))));
    passes(&relay, 3).await;

    let requests = server.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    let message = &body["message"];
    assert_eq!(message["messageId"], id.as_str());
    assert_eq!(message["orderingKey"], "u1");
    assert_eq!(message["attributes"]["event_type"], "user.registered");
    assert!(message["publishTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["subscription"],
        "projects/craftchain-local/subscriptions/user-registered"
    );
    assert_eq!(body["deliveryAttempt"], 1);
    let data = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        message["data"].as_str().unwrap(),
    )
    .unwrap();
    let received = Received::from_bytes(&data).unwrap();
    assert_eq!(received.envelope.source, "auth");
    assert_eq!(received.decode::<UserRegistered>().unwrap().user_id, "u1");
    assert_eq!(entry(&store, &id).await.status, OutboxStatus::Sent);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_no_event() {
    let (store, _dir) = store();
    let publisher = Publisher::new("auth");
    let result = store
        .transact(async |tx: &mut Txn| {
            publisher.emit(tx, "u1", &UserRegistered::default())?;
            Err::<(), _>(StoreError::InvalidQuery("the change failed".into()))
        })
        .await;
    assert!(result.is_err());
    let (pending, _) = store
        .collection::<OutboxEntry>()
        .query(&store::Query::new())
        .await
        .unwrap();
    assert!(pending.is_empty());
}

#[tokio::test]
async fn failing_deliveries_are_retried_then_dead_lettered_and_can_be_replayed() {
    let (store, _dir) = store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    let id = emit(&store, "u1").await;
    let relay = Relay::new(&store, &shared(&format!("{}/events/push", server.uri()), 3));
    passes(&relay, 10).await;
    let dead = entry(&store, &id).await;
    assert_eq!(dead.status, OutboxStatus::Dead);
    assert_eq!(dead.attempts, 3);
    assert!(dead.last_error.unwrap().contains("500"));

    // An admin lists and replays it; the subscriber works again.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let issuer = Issuer::new();
    let admin = crate::dead_letter_router(&store, issuer.authenticator());
    let list = admin
        .clone()
        .oneshot(
            Request::get("/admin/events/dead-letters")
                .header(
                    "authorization",
                    format!("Bearer {}", issuer.token("a1", Role::Admin)),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let page: serde_json::Value =
        serde_json::from_slice(&list.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(page["items"][0]["event_id"], id.as_str());

    let replay = |role| {
        Request::post(format!("/admin/events/dead-letters/{id}/replay"))
            .header(
                "authorization",
                format!("Bearer {}", issuer.token("a1", role)),
            )
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        admin
            .clone()
            .oneshot(replay(Role::Buyer))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .clone()
            .oneshot(replay(Role::Admin))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    passes(&relay, 3).await;
    assert_eq!(entry(&store, &id).await.status, OutboxStatus::Sent);
    assert_eq!(
        admin.oneshot(replay(Role::Admin)).await.unwrap().status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn later_events_of_a_subject_wait_for_an_earlier_failing_one() {
    let (store, _dir) = store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let first = emit(&store, "u1").await;
    let second = emit(&store, "u1").await;
    let other = emit(&store, "u2").await;
    let mut config = shared(&format!("{}/events/push", server.uri()), 5);
    config.events.initial_backoff_ms = 60_000;
    let relay = Relay::new(&store, &config);
    relay.pass().await.unwrap();
    assert_eq!(entry(&store, &first).await.attempts, 1);
    assert_eq!(
        entry(&store, &second).await.attempts,
        0,
        "pushed out of order"
    );
    assert_eq!(entry(&store, &other).await.attempts, 1);
}

struct Counter;

#[async_trait]
impl Consumer for Counter {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        let user = event.decode::<UserRegistered>()?;
        if user.user_id == "poison" {
            return Err(ConsumeError::Invalid("poison".into()));
        }
        let mut count: Count = tx
            .get::<Count>("n")
            .await?
            .map(|c| c.value)
            .unwrap_or_default();
        count.n += 1;
        tx.set("n", &count)?;
        Ok(())
    }
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Count {
    n: u32,
}

impl store::Entity for Count {
    const COLLECTION: &'static str = "count";
}

fn push_body(event_id: &str, user_id: &str) -> String {
    let env = crate::envelope::envelope(
        event_id,
        "auth",
        user_id,
        &UserRegistered {
            user_id: user_id.into(),
            ..Default::default()
        },
        chrono::Utc::now(),
    );
    let data = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        env.encode_to_vec(),
    );
    // The shape Pub/Sub sends, with both spellings of its fields.
    serde_json::json!({
        "message": {"data": data, "attributes": {}, "messageId": event_id, "message_id": event_id,
                    "publishTime": "2026-11-24T10:00:00Z", "publish_time": "2026-11-24T10:00:00Z"},
        "subscription": "projects/p/subscriptions/s"
    })
    .to_string()
}

#[tokio::test]
async fn push_applies_each_event_once_and_only_for_the_service_role() {
    let (store, _dir) = store();
    let issuer = Issuer::new();
    let router = crate::push_router(store.clone(), Arc::new(Counter), issuer.authenticator());
    let push = |token: Option<String>, body: String| {
        let mut r = Request::post("/events/push").header("content-type", "application/json");
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        router.clone().oneshot(r.body(Body::from(body)).unwrap())
    };
    let service = issuer.token("service:auth", Role::Service);
    assert_eq!(
        push(None, push_body("e1", "u1")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push(Some(issuer.token("u9", Role::Admin)), push_body("e1", "u1"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    for _ in 0..3 {
        assert_eq!(
            push(Some(service.clone()), push_body("e1", "u1"))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    let count = store
        .collection::<Count>()
        .get("n")
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(count.n, 1);
    let bad =
        serde_json::json!({"message": {"data": "%%%", "messageId": "x"}, "subscription": "s"})
            .to_string();
    assert_eq!(
        push(Some(service.clone()), bad).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        push(Some(service), push_body("e2", "poison"))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        store
            .collection::<Count>()
            .get("n")
            .await
            .unwrap()
            .unwrap()
            .value
            .n,
        1
    );
}
