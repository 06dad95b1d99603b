//! A message: what was asked, what was rendered, and every attempt to
//! deliver it. It is stored before the request is answered, and the
//! delivery workers take it from the store, so a crash loses nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::{Direction, Entity, IndexSpec};
use utoipa::ToSchema;

use super::{Category, ChannelKind, Priority};

/// The most attempts kept on a message (the oldest are dropped).
pub const MAX_ATTEMPTS_KEPT: usize = 40;

/// A message to one user on one channel; its id is the notification id
/// (and, for webhooks, the `webhook-id` of every attempt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub user_id: String,
    pub channel: ChannelKind,
    pub template: String,
    pub template_version: u32,
    /// The language it was rendered in.
    pub language: String,
    pub category: Category,
    pub priority: Priority,
    pub subject: Option<String>,
    pub body: String,
    /// The sender's data (a webhook's payload carries it).
    pub data: Map<String, Value>,
    /// India's DLT ids of an SMS template.
    pub dlt: Option<super::templates::Dlt>,
    /// A WhatsApp message's approved template and variables.
    #[serde(default)]
    pub whatsapp: Option<super::templates::WhatsappContent>,
    /// `pending` while the workers owe it an attempt; `done` after.
    pub state: String,
    /// `queued`, `sending`, `delivered`, `failed` or `skipped`.
    pub status: String,
    /// When a worker may take it (µs): when queued, when quiet hours end,
    /// the next retry, or the end of the lease of the worker sending it.
    pub due: i64,
    /// Claims by a worker so far (never lowered: a settle must be its
    /// claim's).
    pub claims: u32,
    /// Claims that do not count as attempts (deferred for quiet hours,
    /// or made before a replay).
    #[serde(default)]
    pub claims_before: u32,
    pub attempts: Vec<Attempt>,
    /// Webhook endpoints that have taken it (a retry skips them).
    #[serde(default)]
    pub delivered_to: Vec<String>,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// The unsubscribe link of a marketing message.
    pub unsubscribe_url: Option<String>,
    /// What asked for it: `api:<uid>`, `event:<event id>` or `campaign:<id>`.
    pub source: String,
    /// An email address to use instead of the user's own (a subscription
    /// names where its reports go).
    #[serde(default)]
    pub email_to: Option<String>,
    /// The campaign it is part of (its counts follow its outcome).
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// The request's fingerprint, for `Idempotency-Key` repeats.
    pub request_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// In-app messages: when the user read it.
    pub read_at: Option<DateTime<Utc>>,
}

impl Entity for Notification {
    const COLLECTION: &'static str = "notifications";
}

/// The indexes the workers and the delivery log need.
pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::new(
            Notification::COLLECTION,
            &[("state", Direction::Asc), ("due", Direction::Asc)],
        ),
        IndexSpec::new(
            Notification::COLLECTION,
            &[("user_id", Direction::Asc), ("created_at", Direction::Desc)],
        ),
        IndexSpec::new(
            Notification::COLLECTION,
            &[
                ("user_id", Direction::Asc),
                ("channel", Direction::Asc),
                ("created_at", Direction::Desc),
            ],
        ),
    ]
}

/// One try at delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// The provider (`dev_inbox`, `sendgrid`, `twilio`, `fcm`, `smtp`,
    /// `webhook`).
    pub provider: String,
    /// The provider's id of the message, when it gave one.
    pub provider_id: Option<String>,
    /// The webhook endpoint tried.
    pub endpoint_id: Option<String>,
    /// The HTTP status the provider or receiver answered.
    pub status_code: Option<u16>,
    pub detail: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

impl Notification {
    /// Attempts counted against the maximum.
    pub fn attempts_used(&self) -> u32 {
        self.claims.saturating_sub(self.claims_before)
    }

    /// Record an attempt, keeping the last [`MAX_ATTEMPTS_KEPT`].
    pub fn record(&mut self, attempt: Attempt) {
        if self.attempts.len() >= MAX_ATTEMPTS_KEPT {
            self.attempts.remove(0);
        }
        self.attempts.push(attempt);
    }
}

/// A message as its user (or an admin) sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub user_id: String,
    pub channel: ChannelKind,
    pub template: String,
    pub template_version: u32,
    pub language: String,
    pub category: Category,
    pub priority: Priority,
    /// `queued`, `sending`, `delivered`, `failed` or `skipped`.
    pub status: String,
    pub subject: Option<String>,
    pub body: String,
    pub reason: Option<String>,
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (queued messages).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Whether an in-app message was read.
    pub read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub unsubscribe_url: Option<String>,
}

impl NotificationView {
    pub fn new(id: &str, n: &Notification) -> Self {
        Self {
            id: id.to_owned(),
            user_id: n.user_id.clone(),
            channel: n.channel,
            template: n.template.clone(),
            template_version: n.template_version,
            language: n.language.clone(),
            category: n.category,
            priority: n.priority,
            status: n.status.clone(),
            subject: n.subject.clone(),
            body: n.body.clone(),
            reason: n.reason.clone(),
            attempts: n.attempts.clone(),
            next_attempt_at: (n.state == "pending")
                .then(|| DateTime::from_timestamp_micros(n.due))
                .flatten(),
            created_at: n.created_at,
            delivered_at: n.delivered_at,
            read: n.read_at.is_some(),
            read_at: n.read_at,
            unsubscribe_url: n.unsubscribe_url.clone(),
        }
    }
}
