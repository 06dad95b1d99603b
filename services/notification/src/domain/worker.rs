//! Delivery workers. A due message is claimed in a transaction (its claim
//! count goes up and it is due again when the lease ends), sent, and then
//! settled in another transaction — delivered (with `notification.delivered`
//! in the outbox), retried after an exponential, jittered delay, or
//! failed. A worker that dies mid-send leaves the message to be claimed
//! again when its lease ends; a webhook retry carries the same
//! `webhook-id`, so its receiver can tell.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use events::Publisher;
use events::v1::NotificationDelivered;
use rand::Rng;
use serde_json::json;
use store::{Direction, Query, Txn};
use tokio_util::sync::CancellationToken;

use super::campaigns::{self, Outcome};
use super::channels::{Address, Delivery, Outgoing};
use super::preferences::{Preferences, Recipient};
use super::queue::{Request, new_id};
use super::webhooks::{Endpoint, Sent, endpoints_of};
use super::{Attempt, ChannelKind, Notification, Notifier, Priority};
use crate::error::NotificationError;

/// Messages looked at per round.
const BATCH: usize = 16;

pub struct Worker {
    pub notifier: Arc<Notifier>,
    pub publisher: Publisher,
}

/// A claim: the message's id and its claim count when claimed (a settle
/// by a worker whose lease ran out and was re-claimed changes nothing).
struct Claim {
    id: String,
    claims: u32,
}

/// What one attempt came to, to be settled.
enum Settle {
    Delivered(Vec<Attempt>),
    Retry(Vec<Attempt>, String),
    Failed(Vec<Attempt>, String),
    /// The user opted out since it was queued: never sent.
    Skipped(String),
    /// The user's quiet hours began since it was queued: due when they
    /// end (not an attempt).
    Defer(DateTime<Utc>),
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

impl Worker {
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let busy = match self.round(&cancel).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "notification delivery: a round failed");
                    false
                }
            };
            if cancel.is_cancelled() {
                return;
            }
            if busy {
                continue;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.notifier.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(self.notifier.settings.poll_ms)) => {}
            }
        }
    }

    /// Claim and deliver the due messages of one batch; how many.
    async fn round(&self, cancel: &CancellationToken) -> Result<usize, NotificationError> {
        let now = micros(common::time::now());
        let query = Query::new()
            .eq("state", "pending")
            .filter("due", store::Op::Le, now)
            .order_by("due", Direction::Asc)
            .limit(BATCH);
        let (due, _) = self
            .notifier
            .store
            .collection::<Notification>()
            .query(&query)
            .await?;
        let mut done = 0;
        for candidate in due {
            if cancel.is_cancelled() {
                break;
            }
            let Some((claim, message)) = self.claim(&candidate.id).await? else {
                continue;
            };
            done += 1;
            // A send under way finishes even when shutting down (each is
            // bounded by its provider's timeout): a send dropped halfway
            // could have reached its provider, and would go again.
            let outcome = self.deliver(&claim.id, &message).await;
            self.settle_surely(&claim, outcome).await?;
        }
        Ok(done)
    }

    async fn claim(&self, id: &str) -> Result<Option<(Claim, Notification)>, NotificationError> {
        let lease = Duration::from_secs(self.notifier.settings.lease_secs);
        self.notifier
            .store
            .transact(async |tx: &mut Txn| {
                let now = common::time::now();
                let Some(mut n) = tx.get::<Notification>(id).await? else {
                    return Ok(None);
                };
                if n.value.state != "pending" || n.value.due > micros(now) {
                    return Ok(None);
                }
                n.value.claims += 1;
                n.value.status = "sending".into();
                n.value.due = micros(now) + lease.as_micros() as i64;
                tx.update(&n)?;
                let claim = Claim {
                    id: id.to_owned(),
                    claims: n.value.claims,
                };
                Ok::<_, NotificationError>(Some((claim, n.value)))
            })
            .await
    }

    /// Settle, trying again a few times: a message sent but not settled
    /// would be sent again when its lease ends (messages of one campaign
    /// share its tally's shards, so their settles can conflict).
    async fn settle_surely(&self, claim: &Claim, outcome: Settle) -> Result<(), NotificationError> {
        let mut tries = 0;
        loop {
            match self.settle(claim, &outcome).await {
                Err(NotificationError::Store(e)) if e.is_conflict() && tries < 5 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20 * tries)).await;
                }
                other => return other,
            }
        }
    }

    async fn settle(&self, claim: &Claim, outcome: &Settle) -> Result<(), NotificationError> {
        let settings = &self.notifier.settings;
        let publisher = &self.publisher;
        self.notifier
            .store
            .transact(async |tx: &mut Txn| {
                let Some(mut n) = tx.get::<Notification>(&claim.id).await? else {
                    return Ok(());
                };
                if n.value.state != "pending" || n.value.claims != claim.claims {
                    return Ok(());
                }
                let now = common::time::now();
                let m = &mut n.value;
                match outcome {
                    Settle::Delivered(attempts) => {
                        attempts.iter().cloned().for_each(|a| m.record(a));
                        m.state = "done".into();
                        m.status = "delivered".into();
                        m.reason = None;
                        m.delivered_at = Some(now);
                        if let Some(campaign) = &m.campaign_id {
                            campaigns::tally(tx, campaign, &claim.id, Outcome::Delivered, 1)
                                .await?;
                        }
                        publisher.emit(
                            tx,
                            &claim.id,
                            &NotificationDelivered {
                                notification_id: claim.id.clone(),
                                user_id: m.user_id.clone(),
                                channel: m.channel.as_str().to_owned(),
                                template: m.template.clone(),
                            },
                        )?;
                    }
                    Settle::Retry(attempts, why) if m.attempts_used() < settings.max_attempts => {
                        attempts.iter().cloned().for_each(|a| m.record(a));
                        m.status = "queued".into();
                        m.reason = Some(why.clone());
                        m.due = micros(now)
                            + backoff(
                                settings.retry_base_ms,
                                settings.retry_max_ms,
                                m.attempts_used(),
                            );
                    }
                    Settle::Skipped(why) => {
                        m.state = "done".into();
                        m.status = "skipped".into();
                        m.reason = Some(why.clone());
                        if let Some(campaign) = &m.campaign_id {
                            campaigns::tally(tx, campaign, &claim.id, Outcome::Skipped, 1).await?;
                        }
                    }
                    Settle::Defer(until) => {
                        // Not an attempt: the claim is not counted.
                        m.claims_before += 1;
                        m.status = "queued".into();
                        m.reason = Some("quiet_hours".into());
                        m.due = micros(*until);
                    }
                    Settle::Retry(attempts, why) | Settle::Failed(attempts, why) => {
                        attempts.iter().cloned().for_each(|a| m.record(a));
                        m.state = "done".into();
                        m.status = "failed".into();
                        m.reason = Some(why.clone());
                        if let Some(campaign) = &m.campaign_id {
                            campaigns::tally(tx, campaign, &claim.id, Outcome::Failed, 1).await?;
                        }
                    }
                }
                tx.update(&n)?;
                Ok::<_, NotificationError>(())
            })
            .await
    }

    async fn deliver(&self, id: &str, message: &Notification) -> Settle {
        // The user may have changed their mind since it was queued.
        let prefs = match self
            .notifier
            .store
            .collection::<Preferences>()
            .get(&message.user_id)
            .await
        {
            Ok(p) => p.map(|p| p.value).unwrap_or_default(),
            Err(e) => return Settle::Retry(Vec::new(), format!("reading preferences: {e}")),
        };
        if !prefs.allows(message.channel, message.category) {
            return Settle::Skipped("opted_out".into());
        }
        if message.channel.interrupts()
            && message.priority != Priority::Urgent
            && let Some(until) = prefs.quiet_until(common::time::now())
        {
            return Settle::Defer(until);
        }
        match message.channel {
            ChannelKind::InApp => Settle::Delivered(vec![attempt(
                "in_app",
                Delivery::Delivered {
                    provider_id: None,
                    status: None,
                },
                Duration::ZERO,
            )]),
            ChannelKind::Webhook => self.deliver_webhooks(id, message).await,
            kind => {
                let Some(channel) = self.notifier.channels.get(kind) else {
                    return Settle::Failed(Vec::new(), "no such channel".into());
                };
                let to = match self.address(message, prefs).await {
                    Ok(Some(to)) => to,
                    Ok(None) => {
                        let why = format!("no {} address is known for this user", kind.as_str());
                        return Settle::Failed(Vec::new(), why);
                    }
                    Err(e) => {
                        return Settle::Retry(
                            Vec::new(),
                            format!("reading the user's address: {e}"),
                        );
                    }
                };
                let outgoing = Outgoing {
                    id: id.to_owned(),
                    channel: kind,
                    to,
                    subject: message.subject.clone(),
                    body: message.body.clone(),
                    unsubscribe_url: message.unsubscribe_url.clone(),
                    dlt: message.dlt.clone(),
                    whatsapp: message.whatsapp.clone(),
                    urgent: message.priority >= Priority::High,
                };
                let started = Instant::now();
                let delivery = channel.send(&outgoing).await;
                let a = attempt(channel.provider(), delivery.clone(), started.elapsed());
                match delivery {
                    Delivery::Delivered { .. } => Settle::Delivered(vec![a]),
                    Delivery::Retry { detail, .. } => Settle::Retry(vec![a], detail),
                    Delivery::Failed { detail, .. } => Settle::Failed(vec![a], detail),
                }
            }
        }
    }

    /// Where the user is reached on the message's channel, now (`prefs`
    /// as read for this send).
    async fn address(
        &self,
        message: &Notification,
        prefs: Preferences,
    ) -> Result<Option<Address>, store::StoreError> {
        let recipient = self
            .notifier
            .store
            .collection::<Recipient>()
            .get(&message.user_id)
            .await?
            .map(|r| r.value);
        Ok(match message.channel {
            ChannelKind::Email => message
                .email_to
                .clone()
                .or_else(|| prefs.email.clone())
                .or_else(|| recipient.as_ref().map(|r| r.email.clone()))
                .filter(|e| !e.is_empty())
                .map(|to| Address::Email {
                    to,
                    name: recipient.map(|r| r.display_name).unwrap_or_default(),
                }),
            ChannelKind::Sms | ChannelKind::Whatsapp => prefs.phone.map(Address::Phone),
            ChannelKind::Push => {
                (!prefs.push_tokens.is_empty()).then_some(Address::Devices(prefs.push_tokens))
            }
            ChannelKind::Webhook | ChannelKind::InApp => None,
        })
    }

    /// Send to each of the user's enabled endpoints that has not taken the
    /// message yet. Endpoints are updated in their own transactions: one
    /// that answers 410, or has failed for longer than allowed, is
    /// disabled and its owner told in-app.
    async fn deliver_webhooks(&self, id: &str, message: &Notification) -> Settle {
        let max = self.notifier.settings.webhooks.max_endpoints;
        let endpoints = match endpoints_of(&self.notifier.store, &message.user_id, max).await {
            Ok(e) => e,
            Err(e) => return Settle::Retry(Vec::new(), format!("reading endpoints: {e}")),
        };
        let todo: Vec<_> = endpoints
            .into_iter()
            .filter(|(eid, e)| e.enabled && !message.delivered_to.contains(eid))
            .collect();
        if todo.is_empty() {
            return if message.delivered_to.is_empty() {
                Settle::Failed(
                    Vec::new(),
                    "the user has no enabled webhook endpoint".into(),
                )
            } else {
                Settle::Delivered(Vec::new())
            };
        }
        let body = json!({
            "type": format!("notification.{}", message.template),
            "timestamp": message.created_at,
            "data": {
                "notification_id": id,
                "user_id": message.user_id,
                "template": message.template,
                "language": message.language,
                "subject": message.subject,
                "body": message.body,
                "data": message.data,
            }
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut attempts = Vec::new();
        let mut pending = Vec::new();
        let mut delivered_any = !message.delivered_to.is_empty();
        for (eid, endpoint) in todo {
            let (sent, took) = self.notifier.webhooks.send(&endpoint, id, &body).await;
            let mut a = attempt(
                "webhook",
                match &sent {
                    Sent::Delivered { status } => Delivery::Delivered {
                        provider_id: None,
                        status: Some(*status),
                    },
                    Sent::Gone => Delivery::Failed {
                        status: Some(410),
                        detail: "410 Gone: the endpoint was disabled".into(),
                    },
                    Sent::Failed { status, detail } => Delivery::Retry {
                        status: *status,
                        detail: detail.clone(),
                    },
                },
                took,
            );
            a.endpoint_id = Some(eid.clone());
            attempts.push(a);
            if let Err(e) = self.endpoint_outcome(&eid, id, &sent).await {
                tracing::warn!(endpoint = %eid, error = %e, "recording a webhook outcome");
            }
            match sent {
                Sent::Delivered { .. } => delivered_any = true,
                Sent::Gone => {}
                Sent::Failed { detail, .. } => pending.push(detail),
            }
        }
        match (pending.into_iter().next(), delivered_any) {
            (Some(detail), _) => Settle::Retry(attempts, detail),
            (None, true) => Settle::Delivered(attempts),
            (None, false) => Settle::Failed(attempts, "every endpoint is gone (410)".into()),
        }
    }

    /// Record what an endpoint did: the message delivered to it, its
    /// failing streak, and whether it is now disabled (telling its owner).
    async fn endpoint_outcome(
        &self,
        eid: &str,
        message_id: &str,
        sent: &Sent,
    ) -> Result<(), NotificationError> {
        let disable_after =
            chrono::Duration::seconds(self.notifier.settings.webhooks.disable_after_secs as i64);
        let notifier = &self.notifier;
        notifier
            .store
            .transact(async |tx: &mut Txn| {
                let now = common::time::now();
                if let Sent::Delivered { .. } = sent
                    && let Some(mut n) = tx.get::<Notification>(message_id).await?
                    && !n.value.delivered_to.iter().any(|d| d == eid)
                {
                    n.value.delivered_to.push(eid.to_owned());
                    tx.update(&n)?;
                }
                let Some(mut e) = tx.get::<Endpoint>(eid).await? else {
                    return Ok(());
                };
                let disabled = match sent {
                    Sent::Delivered { .. } => {
                        e.value.failing_since = None;
                        None
                    }
                    Sent::Gone => Some("it answered 410 Gone".to_owned()),
                    Sent::Failed { .. } => {
                        let since = *e.value.failing_since.get_or_insert(now);
                        (now - since >= disable_after).then(|| {
                            format!(
                                "every attempt failed since {}",
                                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                            )
                        })
                    }
                };
                if let Some(reason) = disabled.filter(|_| e.value.enabled) {
                    e.value.enabled = false;
                    e.value.disabled_reason = Some(reason.clone());
                    let tell = Request {
                        user_id: e.value.user_id.clone(),
                        channel: ChannelKind::InApp,
                        template: "webhook_disabled".into(),
                        data: serde_json::Map::from_iter([
                            ("url".to_owned(), json!(e.value.url)),
                            ("reason".to_owned(), json!(reason)),
                        ]),
                        priority: Priority::High,
                        source: format!("webhook:{eid}"),
                        email_to: None,
                    };
                    let n = notifier.prepare(tx, &tell, "", now).await?;
                    tx.create(&new_id(), &n)?;
                }
                tx.update(&e)?;
                Ok::<_, NotificationError>(())
            })
            .await
    }
}

fn attempt(provider: &str, delivery: Delivery, took: Duration) -> Attempt {
    let (outcome, provider_id, status_code, detail) = match delivery {
        Delivery::Delivered {
            provider_id,
            status,
        } => ("delivered", provider_id, status, None),
        Delivery::Retry { status, detail } => ("retry", None, status, Some(detail)),
        Delivery::Failed { status, detail } => ("failed", None, status, Some(detail)),
    };
    Attempt {
        at: common::time::now(),
        outcome: outcome.to_owned(),
        provider: provider.to_owned(),
        provider_id,
        endpoint_id: None,
        status_code,
        detail,
        duration_ms: took.as_millis() as u64,
    }
}

/// The delay before attempt `claims + 1`, in µs: `base · 2^(claims−1)`,
/// at most `max`, ±20 % jitter (so retries of many messages spread out).
pub fn backoff(base_ms: u64, max_ms: u64, claims: u32) -> i64 {
    let exp = base_ms.saturating_mul(1u64 << claims.saturating_sub(1).min(30));
    let capped = exp.min(max_ms) as f64;
    let jitter = rand::rng().random_range(0.8..=1.2);
    (capped * jitter * 1_000.0) as i64
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_cap() {
        for (claims, expected_ms) in [(1u32, 1_000f64), (2, 2_000.0), (3, 4_000.0), (10, 60_000.0)]
        {
            let d = backoff(1_000, 60_000, claims) as f64 / 1_000.0;
            assert!(
                d >= expected_ms * 0.8 && d <= expected_ms * 1.2,
                "{claims}: {d}"
            );
        }
    }
}
