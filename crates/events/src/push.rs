//! `POST /events/push`: where a consumer receives events, in Pub/Sub's push
//! format. Only the publisher may call it (a `service`-role token locally,
//! Pub/Sub's OIDC token in production). The event's effect and an "applied"
//! marker are stored in one transaction, so an event is applied exactly
//! once however often it is delivered, and 2xx is answered only after both
//! are stored.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json as AxumJson, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::identity::Authenticator;
use common::{ApiError, Caller, Json, Role, Timestamp};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use store::{Entity, Store, StoreError, Txn};
use subtle::ConstantTimeEq as _;

use crate::envelope::{DecodeError, Received};

/// A Pub/Sub push request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushRequest {
    pub message: PushMessage,
    pub subscription: String,
}

/// The message of a push request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushMessage {
    /// The protobuf envelope, base64.
    pub data: String,
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(rename = "publishTime", default)]
    pub publish_time: Option<String>,
    #[serde(rename = "orderingKey", default)]
    pub ordering_key: Option<String>,
}

impl PushRequest {
    /// The push request Pub/Sub (or the local relay) would send for `event`
    /// (tests of consumers use it to deliver events by hand).
    pub fn for_event<E: crate::Event>(
        event_id: &str,
        source: &str,
        subject: &str,
        event: &E,
    ) -> Self {
        Self::for_event_at(event_id, source, subject, event, chrono::Utc::now())
    }

    /// [`PushRequest::for_event`] for an event that happened `at` (a late
    /// delivery of an old event).
    pub fn for_event_at<E: crate::Event>(
        event_id: &str,
        source: &str,
        subject: &str,
        event: &E,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        use prost::Message as _;
        let envelope = crate::envelope::envelope(event_id, source, subject, event, at);
        Self {
            message: PushMessage {
                data: STANDARD.encode(envelope.encode_to_vec()),
                attributes: [("event_type".to_owned(), E::TYPE.to_owned())].into(),
                message_id: event_id.to_owned(),
                publish_time: None,
                ordering_key: Some(subject.to_owned()),
            },
            subscription: format!(
                "projects/{}/subscriptions/{}",
                common::config::LOCAL_PROJECT,
                E::TYPE.replace('.', "-")
            ),
        }
    }
}

/// Why a consumer could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// The event can never be applied (bad payload): answered 400, so the
    /// publisher retries and finally dead-letters it.
    #[error("the event cannot be applied: {0}")]
    Invalid(String),
    /// Storage failed; answered 503 and retried.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something this consumer depends on is down; answered 503 and retried.
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
}

impl From<DecodeError> for ConsumeError {
    fn from(e: DecodeError) -> Self {
        ConsumeError::Invalid(e.to_string())
    }
}

/// What a service does with the events it subscribes to.
#[async_trait]
pub trait Consumer: Send + Sync + 'static {
    /// Apply `event` by adding writes to `tx`. Runs inside a transaction
    /// that may be retried, so it must only act through `tx`. An event type
    /// it does not handle is simply ignored (`Ok`).
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError>;
}

/// The marker of an applied event.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AppliedEvent {
    event_type: String,
    applied_at: Timestamp,
}

impl Entity for AppliedEvent {
    const COLLECTION: &'static str = "applied_events";
}

#[derive(Clone)]
struct PushState {
    store: Store,
    consumer: Arc<dyn Consumer>,
    auth: Arc<Authenticator>,
    publishers: Publishers,
}

impl axum::extract::FromRef<PushState> for Arc<Authenticator> {
    fn from_ref(state: &PushState) -> Self {
        state.auth.clone()
    }
}

/// Whether the push was new or a repeat.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushOutcome {
    pub event_id: String,
    /// `applied`, or `duplicate` when it had been applied before.
    pub outcome: String,
}

/// The `/events/push` route for `consumer`.
pub fn push_router(store: Store, consumer: Arc<dyn Consumer>, auth: Arc<Authenticator>) -> Router {
    push_router_with_token(store, consumer, auth, None)
}

/// [`push_router`] that also takes pushes to `/events/push?token=<token>`
/// as the publisher's (`events.push_token`: a push subscription that cannot
/// carry an OIDC token, as the Pub/Sub emulator's cannot).
pub fn push_router_with_token(
    store: Store,
    consumer: Arc<dyn Consumer>,
    auth: Arc<Authenticator>,
    push_token: Option<SecretString>,
) -> Router {
    Router::new()
        .route("/events/push", post(receive))
        .with_state(PushState {
            store,
            consumer,
            auth,
            publishers: Publishers::new(push_token),
        })
}

/// `?token=` of a push.
#[derive(Debug, Deserialize)]
pub(crate) struct PushQuery {
    token: Option<String>,
}

/// Who may push events: the publisher, by its `service` identity (the
/// local relay's token, Pub/Sub's OIDC token in production) or, where
/// configured, by the push subscription's `?token=`.
#[derive(Clone, Default)]
pub(crate) struct Publishers {
    token: Option<Arc<SecretString>>,
}

impl Publishers {
    pub(crate) fn new(token: Option<SecretString>) -> Self {
        Self {
            token: token.map(Arc::new),
        }
    }

    /// `Ok` if a push comes from the publisher, else the 401/403: checked
    /// before the body is looked at.
    pub(crate) fn authorize(
        &self,
        caller: Result<Caller, ApiError>,
        query: Result<Query<PushQuery>, QueryRejection>,
    ) -> Result<(), ApiError> {
        let given = query.ok().and_then(|Query(q)| q.token);
        let by_token = match (&self.token, given) {
            (Some(expected), Some(given)) => {
                bool::from(expected.expose_secret().as_bytes().ct_eq(given.as_bytes()))
            }
            _ => false,
        };
        if !by_token {
            caller?.require(&[Role::Service])?;
        }
        Ok(())
    }
}

/// The event a push carries, or 422 naming `message.data`.
pub(crate) fn decode(request: &PushRequest) -> Result<Received, ApiError> {
    let bytes = STANDARD
        .decode(request.message.data.as_bytes())
        .map_err(|_| ApiError::invalid_field("message.data", "invalid", "not base64"))?;
    Received::from_bytes(&bytes)
        .map_err(|e| ApiError::invalid_field("message.data", "invalid", e.to_string()))
}

async fn receive(
    State(state): State<PushState>,
    query: Result<Query<PushQuery>, QueryRejection>,
    caller: Result<Caller, ApiError>,
    body: Result<Json<PushRequest>, ApiError>,
) -> Result<AxumJson<PushOutcome>, ApiError> {
    state.publishers.authorize(caller, query)?;
    let Json(request) = body?;
    let event = decode(&request)?;
    let event_id = event.event_id().to_owned();
    let consumer = state.consumer.clone();
    let outcome = state
        .store
        .transact(async |tx| {
            if tx.get::<AppliedEvent>(&event_id).await?.is_some() {
                return Ok::<_, ConsumeError>(false);
            }
            consumer.apply(&event, tx).await?;
            tx.create(
                &event_id,
                &AppliedEvent {
                    event_type: event.event_type().to_owned(),
                    applied_at: common::time::now(),
                },
            )?;
            Ok(true)
        })
        .await;
    let applied = match outcome {
        Ok(applied) => applied,
        // A concurrent delivery of the same event won the race.
        Err(ConsumeError::Store(StoreError::AlreadyExists { collection, .. }))
            if collection == AppliedEvent::COLLECTION =>
        {
            false
        }
        Err(ConsumeError::Invalid(reason)) => {
            tracing::warn!(
                event_id,
                event_type = event.event_type(),
                reason,
                "event refused"
            );
            return Err(ApiError::bad_request(crate::codes::EVENT_REJECTED, reason));
        }
        Err(e) => {
            return Err(ApiError::unavailable(
                Duration::from_secs(1),
                "the event could not be applied now",
            )
            .with_source(e));
        }
    };
    tracing::info!(
        event_id,
        event_type = event.event_type(),
        applied,
        "event received"
    );
    Ok(AxumJson(PushOutcome {
        event_id,
        outcome: if applied { "applied" } else { "duplicate" }.to_owned(),
    }))
}
