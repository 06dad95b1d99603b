//! The relay: delivers pending outbox entries to every subscriber of their
//! topic as Pub/Sub push requests (locally), or publishes them to their
//! Pub/Sub topic (`events.transport = pubsub`, production), retries with
//! exponential backoff, marks them sent, and moves an entry to the
//! dead-letter list after the configured number of failed attempts. Delivery is at least once;
//! consumers skip what they already applied. Entries of one subject stay in
//! order: after a failure, later entries of that subject wait for the next
//! pass.
//!
//! Any number of instances may relay one store: an instance first claims an
//! entry with a lease (a versioned write, so only one claim wins), and the
//! others leave the entry and the later entries of its subject alone until
//! the lease is settled or runs out (an instance that dies mid-delivery).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::config::{EventTransport, EventsConfig, SharedConfig};
use common::tokens::TokenProvider;
use futures::future::join_all;
use serde_json::json;
use store::{Collection, Query, Store, StoreError, StoreResult, Versioned};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::outbox::{OutboxEntry, OutboxStatus};
use crate::pubsub::PubSubTopics;

/// Entries looked at per pass.
const BATCH: usize = 100;
/// How long one push may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long all the sends of one entry may take together (a token fetch,
/// a first connection to Pub/Sub, the pushes at once).
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a claim holds an entry, from the moment it is claimed: its
/// sends (at most [`SEND_TIMEOUT`]) and the settle's write (a store request
/// may take 30 s) fit well inside.
const LEASE: Duration = Duration::from_secs(120);

/// Where the relay sends events (`events.transport`).
enum Transport {
    /// To each subscriber of the event's type, itself.
    Push(BTreeMap<String, Vec<Url>>),
    /// To the event type's Pub/Sub topic, connected at the first event.
    PubSub {
        emulator_host: Option<String>,
        topics: tokio::sync::OnceCell<PubSubTopics>,
    },
}

/// One place an entry goes: a subscriber, or a topic.
enum Target {
    Url(Url),
    Topic(String),
}

impl Target {
    /// As recorded in `delivered_to`.
    fn key(&self) -> String {
        match self {
            Target::Url(url) => url.to_string(),
            Target::Topic(topic) => topic.clone(),
        }
    }
}

/// Delivers a service's outbox: to its subscribers, or to Pub/Sub.
#[derive(Clone)]
pub struct Relay {
    outbox: Collection<OutboxEntry>,
    project: String,
    transport: Arc<Transport>,
    http: reqwest::Client,
    tokens: Option<Arc<dyn TokenProvider>>,
    config: EventsConfig,
    /// This instance, in the leases it takes.
    instance: String,
}

impl Relay {
    pub fn new(store: &Store, shared: &SharedConfig) -> Self {
        Self {
            outbox: store.collection(),
            project: shared
                .gcp_project
                .clone()
                .unwrap_or_else(|| common::config::LOCAL_PROJECT.to_owned()),
            transport: Arc::new(match shared.events.transport {
                EventTransport::Push => Transport::Push(shared.events.subscriptions.clone()),
                EventTransport::Pubsub => Transport::PubSub {
                    emulator_host: shared
                        .events
                        .pubsub_emulator_host
                        .clone()
                        .or_else(|| std::env::var("PUBSUB_EMULATOR_HOST").ok()),
                    topics: tokio::sync::OnceCell::new(),
                },
            }),
            http: common::client::http_client(),
            tokens: common::tokens::from_config(shared),
            config: shared.events.clone(),
            instance: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Use `tokens` for the pushes instead of what the configuration gives.
    pub fn with_tokens(mut self, tokens: Option<Arc<dyn TokenProvider>>) -> Self {
        self.tokens = tokens;
        self
    }

    /// Deliver until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let idle = Duration::from_millis(self.config.poll_interval_ms.max(10));
        loop {
            match self.pass().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "relay pass failed"),
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }

    /// One pass over the due entries; returns how many were settled
    /// (sent or dead).
    pub async fn pass(&self) -> StoreResult<usize> {
        let query = Query::new().eq("status", "pending").limit(BATCH);
        let (entries, _) = self.outbox.query(&query).await?;
        let now = common::time::now();
        let mut blocked = HashSet::new();
        let mut settled = 0;
        for entry in entries {
            if blocked.contains(&entry.value.subject) {
                continue;
            }
            let leased = entry
                .value
                .lease
                .as_ref()
                .is_some_and(|lease| lease.until > now);
            if entry.value.next_attempt_at > now || leased {
                blocked.insert(entry.value.subject.clone());
                continue;
            }
            let subject = entry.value.subject.clone();
            let Some(claimed) = self.claim(entry).await? else {
                // Another instance claimed it first.
                blocked.insert(subject);
                continue;
            };
            match self.deliver(claimed).await? {
                Some(OutboxStatus::Sent | OutboxStatus::Dead) => settled += 1,
                // Failed (or changed by another relay): later events of the
                // subject wait, to keep the subject's order.
                Some(OutboxStatus::Pending) | None => {
                    blocked.insert(subject);
                }
            }
        }
        Ok(settled)
    }

    /// Takes the lease on an entry; `None` when another instance changed
    /// it since it was read.
    async fn claim(
        &self,
        mut entry: Versioned<OutboxEntry>,
    ) -> StoreResult<Option<Versioned<OutboxEntry>>> {
        // From now, not from the pass's start: earlier entries of the pass
        // may have taken a while.
        let now = common::time::now();
        entry.value.lease = Some(crate::Lease {
            owner: self.instance.clone(),
            until: now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::MAX),
        });
        match self
            .outbox
            .update(&entry.id, &entry.value, entry.version)
            .await
        {
            Ok(claimed) => Ok(Some(claimed)),
            Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Push one claimed entry to the subscribers that have not acknowledged
    /// it and save the outcome, releasing the lease. `None` when the lease
    /// ran out and another instance changed the entry meanwhile.
    async fn deliver(&self, entry: Versioned<OutboxEntry>) -> StoreResult<Option<OutboxStatus>> {
        let mut value = entry.value;
        value.lease = None;
        let targets: Vec<Target> = match &*self.transport {
            Transport::Push(subscriptions) => subscriptions
                .get(&value.event_type)
                .map(|urls| urls.iter().cloned().map(Target::Url).collect())
                .unwrap_or_default(),
            Transport::PubSub { .. } => vec![Target::Topic(format!(
                "projects/{}/topics/{}",
                self.project, value.event_type
            ))],
        };
        let targets: Vec<Target> = targets
            .into_iter()
            .filter(|t| !value.delivered_to.contains(&t.key()))
            .collect();
        let attempt = value.attempts + 1;
        let sends = join_all(
            targets
                .iter()
                .map(|target| self.send(target, &value, attempt)),
        );
        let outcomes = match tokio::time::timeout(SEND_TIMEOUT, sends).await {
            Ok(outcomes) => outcomes,
            Err(_) => targets
                .iter()
                .map(|_| Err(format!("not sent within {SEND_TIMEOUT:?}")))
                .collect(),
        };
        let mut errors = Vec::new();
        for (target, outcome) in targets.iter().zip(outcomes) {
            match outcome {
                Ok(()) => value.delivered_to.push(target.key()),
                Err(e) => errors.push(format!("{}: {e}", target.key())),
            }
        }
        if errors.is_empty() {
            value.status = OutboxStatus::Sent;
            value.last_error = None;
        } else {
            value.attempts = attempt;
            value.last_error = Some(errors.join("; "));
            if value.attempts >= self.config.max_attempts {
                value.status = OutboxStatus::Dead;
                tracing::error!(
                    event_id = value.event_id,
                    event_type = value.event_type,
                    attempts = value.attempts,
                    error = value.last_error.as_deref().unwrap_or(""),
                    "event moved to the dead-letter list"
                );
            } else {
                let delay = self.backoff(value.attempts);
                value.next_attempt_at = common::time::now()
                    + chrono::Duration::from_std(delay)
                        .unwrap_or_else(|_| chrono::Duration::seconds(60));
                tracing::warn!(
                    event_id = value.event_id,
                    event_type = value.event_type,
                    attempt = value.attempts,
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error = value.last_error.as_deref().unwrap_or(""),
                    "event delivery failed; will retry"
                );
            }
        }
        match self.outbox.update(&entry.id, &value, entry.version).await {
            Ok(_) => Ok(Some(value.status)),
            Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let base = self.config.initial_backoff_ms.max(1);
        let ms = base.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
        Duration::from_millis(ms.min(self.config.max_backoff_ms))
    }

    async fn send(&self, target: &Target, entry: &OutboxEntry, attempt: u32) -> Result<(), String> {
        match (target, &*self.transport) {
            (Target::Url(url), _) => self.push(url, entry, attempt).await,
            (
                Target::Topic(topic),
                Transport::PubSub {
                    emulator_host,
                    topics,
                },
            ) => {
                let topics = topics
                    .get_or_try_init(|| PubSubTopics::connect(emulator_host.as_deref()))
                    .await
                    .map_err(|e| format!("connecting to Pub/Sub: {e:#}"))?;
                let id = topics.publish(topic, entry, PUSH_TIMEOUT).await?;
                tracing::debug!(event_id = entry.event_id, message_id = id, "published");
                Ok(())
            }
            (Target::Topic(topic), Transport::Push(_)) => {
                Err(format!("{topic}: the relay does not publish to Pub/Sub"))
            }
        }
    }

    async fn push(&self, url: &Url, entry: &OutboxEntry, attempt: u32) -> Result<(), String> {
        let body = json!({
            "message": {
                "data": entry.data,
                "attributes": {
                    "event_type": entry.event_type,
                    "event_id": entry.event_id,
                },
                "messageId": entry.event_id,
                "message_id": entry.event_id,
                "publishTime": entry.created_at,
                "publish_time": entry.created_at,
                "orderingKey": entry.subject,
            },
            "subscription": format!("projects/{}/subscriptions/{}", self.project, entry.event_type.replace('.', "-")),
            "deliveryAttempt": attempt,
        });
        let mut request = self
            .http
            .post(url.clone())
            .json(&body)
            .timeout(PUSH_TIMEOUT);
        if let Some(tokens) = &self.tokens {
            let token = tokens
                .token(&url.origin().ascii_serialization())
                .await
                .map_err(|e| format!("no token: {e}"))?;
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() || status.as_u16() == 102 {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}
