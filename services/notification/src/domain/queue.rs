//! Turning a request into stored messages: the template rendered in the
//! user's language (a missing variable refuses the request), their
//! preferences applied (opted out: kept as `skipped`; quiet hours: due
//! when they end), stored in the same transaction as whatever else the
//! caller writes. A worker delivers it from the store.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use store::{StoreError, Txn};

use super::preferences::{Preferences, Recipient};
use super::templates::{self, Template};
use super::{Category, ChannelKind, Notification, Notifier, Priority, links};
use crate::error::NotificationError;

/// A message asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub user_id: String,
    pub channel: ChannelKind,
    pub template: String,
    pub data: Map<String, Value>,
    pub priority: Priority,
    /// `api:<uid>`, `event:<id>` or `campaign:<id>`.
    pub source: String,
    /// Email to this address instead of the user's own.
    pub email_to: Option<String>,
}

/// The result of storing requests.
#[derive(Debug)]
pub enum Queued {
    /// Stored now.
    New(Vec<(String, Notification)>),
    /// An `Idempotency-Key` repeat: the messages stored the first time.
    Repeat(Vec<(String, Notification)>),
}

/// The longest `Idempotency-Key`.
const MAX_KEY_LEN: usize = 200;

/// The `Idempotency-Key` of a request, if given: blank or too long is a 422.
pub fn idempotency_key(headers: &http::HeaderMap) -> Result<Option<String>, common::ApiError> {
    let Some(value) = headers.get(&common::client::IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            common::ApiError::invalid_field(
                "Idempotency-Key",
                "invalid",
                "1 to 200 visible characters",
            )
        })
}

/// A new message id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// The ids an `Idempotency-Key` names: the same key of the same caller
/// always names the same messages.
pub fn keyed_ids(caller: &str, key: &str, n: usize) -> Vec<String> {
    let base: String = hex::encode(Sha256::digest(format!("{caller}\n{key}")))
        .chars()
        .take(32)
        .collect();
    (0..n)
        .map(|i| {
            if i == 0 {
                base.clone()
            } else {
                format!("{base}-{i}")
            }
        })
        .collect()
}

impl Notifier {
    /// The message `request` makes for its user, read and rendered through
    /// `tx`. `field` prefixes the names in a validation error.
    pub async fn prepare(
        &self,
        tx: &mut Txn,
        request: &Request,
        field: &str,
        now: DateTime<Utc>,
    ) -> Result<Notification, NotificationError> {
        let stored = tx
            .get::<Template>(&request.template)
            .await?
            .map(|t| t.value);
        let template = templates::resolve(stored, &request.template).ok_or_else(|| {
            NotificationError::UnknownTemplate {
                field: field.to_owned(),
                name: request.template.clone(),
            }
        })?;
        let prefs = tx
            .get::<Preferences>(&request.user_id)
            .await?
            .map(|p| p.value)
            .unwrap_or_default();
        let profile_languages = tx
            .get::<Recipient>(&request.user_id)
            .await?
            .map(|r| r.value.languages)
            .unwrap_or_default();
        let language = templates::language_for(prefs.language.as_deref(), &profile_languages);
        let mut data = request.data.clone();
        let unsubscribe_url = (template.category == Category::Marketing).then(|| {
            links::url(
                &self.settings.public_url,
                &self.settings.link_key(),
                &request.user_id,
            )
        });
        if let Some(url) = &unsubscribe_url {
            data.insert("unsubscribe_url".into(), Value::String(url.clone()));
        }
        let rendered = template
            .render(&language, request.channel, &data)
            .map_err(|source| NotificationError::Render {
                field: field.to_owned(),
                source,
            })?;
        if self.settings.require_dlt
            && request.channel == ChannelKind::Sms
            && rendered.dlt.is_none()
        {
            return Err(common::ApiError::invalid_field(
                &format!("{field}template"),
                "dlt_missing",
                "SMS in India need the template's DLT entity and template ids",
            )
            .into());
        }
        let mut body = rendered.body;
        if let Some(url) = &unsubscribe_url
            && !body.contains(url.as_str())
        {
            body.push_str("\n\nUnsubscribe: ");
            body.push_str(url);
        }
        let micros = now.timestamp_micros();
        let (state, status, due, reason) = if !prefs.allows(request.channel, template.category) {
            ("done", "skipped", micros, Some("opted_out".to_owned()))
        } else {
            let quiet = (request.channel.interrupts() && request.priority != Priority::Urgent)
                .then(|| prefs.quiet_until(now))
                .flatten();
            match quiet {
                Some(until) => (
                    "pending",
                    "queued",
                    until.timestamp_micros(),
                    Some("quiet_hours".to_owned()),
                ),
                None => ("pending", "queued", micros, None),
            }
        };
        Ok(Notification {
            user_id: request.user_id.clone(),
            channel: request.channel,
            template: request.template.clone(),
            template_version: template.version,
            language: rendered.language,
            category: template.category,
            priority: request.priority,
            subject: rendered.subject,
            body,
            data: request.data.clone(),
            dlt: rendered.dlt,
            whatsapp: rendered.whatsapp,
            state: state.to_owned(),
            status: status.to_owned(),
            due,
            claims: 0,
            claims_before: 0,
            attempts: Vec::new(),
            delivered_to: Vec::new(),
            reason,
            unsubscribe_url,
            source: request.source.clone(),
            email_to: request.email_to.clone(),
            campaign_id: None,
            request_hash: None,
            created_at: now,
            delivered_at: None,
            read_at: None,
        })
    }

    /// Store `requests` as messages `ids` (one each) in one transaction;
    /// any request the templates refuse refuses them all. With a request
    /// hash (an `Idempotency-Key` was given), messages already stored
    /// under these ids are answered again if the request was the same.
    pub async fn queue(
        &self,
        requests: &[Request],
        ids: &[String],
        request_hash: Option<&str>,
        field_of: impl Fn(usize) -> String + Send + Sync,
    ) -> Result<Queued, NotificationError> {
        let now = common::time::now();
        let queued = self
            .store
            .transact(async |tx: &mut Txn| {
                if let (Some(hash), Some(first)) = (request_hash, ids.first())
                    && let Some(existing) = tx.get::<Notification>(first).await?
                {
                    if existing.value.request_hash.as_deref() != Some(hash) {
                        return Err(common::ApiError::invalid_field(
                            "Idempotency-Key",
                            "reused",
                            "this key was used for another request",
                        )
                        .into());
                    }
                    let mut all = Vec::with_capacity(ids.len());
                    for id in ids {
                        if let Some(n) = tx.get::<Notification>(id).await? {
                            all.push((id.clone(), n.value));
                        }
                    }
                    return Ok(Queued::Repeat(all));
                }
                let mut out = Vec::with_capacity(requests.len());
                for (i, (request, id)) in requests.iter().zip(ids).enumerate() {
                    let mut n = self.prepare(tx, request, &field_of(i), now).await?;
                    n.request_hash = request_hash.map(str::to_owned);
                    tx.create(id, &n)?;
                    out.push((id.clone(), n));
                }
                Ok::<_, NotificationError>(Queued::New(out))
            })
            .await?;
        self.wake.notify_one();
        Ok(queued)
    }
}

/// The fingerprint of a request body, for `Idempotency-Key` repeats.
pub fn fingerprint(body: &impl serde::Serialize) -> Result<String, StoreError> {
    let bytes = serde_json::to_vec(body).map_err(StoreError::unavailable)?;
    Ok(hex::encode(Sha256::digest(bytes)))
}
