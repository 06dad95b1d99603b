//! Campaigns: one marketing template to an audience resolved from the
//! auth service's directory (roles, regions, languages, crafts). Each
//! user gets it in their language, at the campaign's local time in their
//! zone when one is given, outside their quiet hours, and not at all when
//! they opted out (counted as skipped). Sending is throttled: the k-th
//! message is due no earlier than `k / rate` seconds after the start.
//!
//! The audience is resolved page by page by a background task that claims
//! the campaign with a lease; each page's messages, the directory cursor
//! and the counts are written in one transaction, so a crash resumes at
//! the page it was on and never queues a user twice (a message's id is
//! `<campaign>-<user>`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::{CallOptions, ServiceClient};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::{Direction, Entity, IndexSpec, Query, Txn};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::preferences::{Preferences, Recipient, parse_time};
use super::queue::Request;
use super::{ChannelKind, Notification, Notifier, Priority};
use crate::error::NotificationError;

/// Who a campaign is for: each list matches any of its values; an empty
/// list matches everyone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targeting {
    /// `artisan`, `buyer`.
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 3>")]
    #[schema(max_items = 3)]
    pub roles: Vec<String>,
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 30>")]
    #[schema(max_items = 30)]
    pub regions: Vec<String>,
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 6>")]
    #[schema(max_items = 6)]
    pub languages: Vec<String>,
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 30>")]
    #[schema(max_items = 30)]
    pub crafts: Vec<String>,
}

/// The counts of a campaign's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Users the audience resolved to.
    pub audience: u64,
    /// Messages queued for delivery.
    pub queued: u64,
    /// Users who had opted out of marketing on the channel (when queued,
    /// or by the time their message was due).
    pub skipped: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// What became of a campaign's queued messages, kept in [`SHARDS`]
/// documents per campaign: a message's end is counted in one shard, in
/// the transaction that settles it, so settling messages never contend
/// with the task resolving the audience (which writes the campaign).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub delivered: i64,
    pub failed: i64,
    pub skipped: i64,
}

impl Entity for Tally {
    const COLLECTION: &'static str = "campaign_tallies";
}

/// Shards of a campaign's tally.
pub const SHARDS: u64 = 8;

/// A message's end, as tallied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed,
    Skipped,
}

fn shard_id(campaign_id: &str, message_id: &str) -> String {
    // FNV-1a: the same message always lands in the same shard.
    let hash = message_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{campaign_id}.{}", hash % SHARDS)
}

/// Count `delta` of `outcome` for a message of `campaign_id` (in the
/// transaction that settles or replays it).
pub async fn tally(
    tx: &mut Txn,
    campaign_id: &str,
    message_id: &str,
    outcome: Outcome,
    delta: i64,
) -> Result<(), store::StoreError> {
    let id = shard_id(campaign_id, message_id);
    let mut t = tx
        .get::<Tally>(&id)
        .await?
        .map(|t| t.value)
        .unwrap_or_default();
    match outcome {
        Outcome::Delivered => t.delivered += delta,
        Outcome::Failed => t.failed += delta,
        Outcome::Skipped => t.skipped += delta,
    }
    tx.set(&id, &t)?;
    Ok(())
}

/// A campaign's tally, its shards summed.
pub async fn tallied(store: &store::Store, campaign_id: &str) -> Result<Tally, store::StoreError> {
    let ids: Vec<String> = (0..SHARDS).map(|i| format!("{campaign_id}.{i}")).collect();
    let shards = store.collection::<Tally>().get_many(&ids).await?;
    Ok(shards.into_iter().fold(Tally::default(), |a, t| Tally {
        delivered: a.delivered + t.value.delivered,
        failed: a.failed + t.value.failed,
        skipped: a.skipped + t.value.skipped,
    }))
}

/// A campaign; its id is random.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub name: String,
    pub template: String,
    pub channel: ChannelKind,
    pub data: Map<String, Value>,
    pub targeting: Targeting,
    pub send_at: DateTime<Utc>,
    /// `HH:MM`: each user gets it at this time of day in their own zone
    /// (the first such time from `send_at`).
    pub local_time: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// `pending` while the audience is being resolved; `done` after.
    pub state: String,
    /// When it may be claimed (µs): `send_at`, or its lease's end.
    pub due: i64,
    pub claims: u32,
    /// The directory's cursor after the last page queued.
    pub cursor: Option<String>,
    /// As resolved: audience, queued and skipped (what came of the queued
    /// messages is in the tally).
    pub counts: Counts,
    /// The request's fingerprint, for `Idempotency-Key` repeats.
    #[serde(default)]
    pub request_hash: Option<String>,
    /// Resolved: when the last page was queued.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Why it stopped (a template that no longer renders, say).
    pub error: Option<String>,
}

impl Entity for Campaign {
    const COLLECTION: &'static str = "campaigns";
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Campaign::COLLECTION,
        &[("state", Direction::Asc), ("due", Direction::Asc)],
    )]
}

impl Campaign {
    /// Its counts with what came of its messages.
    pub fn counts(&self, t: &Tally) -> Counts {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Counts {
            audience: self.counts.audience,
            queued: self.counts.queued,
            skipped: self.counts.skipped + n(t.skipped),
            delivered: n(t.delivered),
            failed: n(t.failed),
        }
    }

    /// `scheduled`, `resolving`, `sending`, `completed` or `failed`.
    pub fn status(&self, t: &Tally) -> &'static str {
        let ended = t.delivered + t.failed + t.skipped;
        match (self.state.as_str(), self.error.is_some()) {
            (_, true) => "failed",
            ("pending", _) if self.claims == 0 => "scheduled",
            ("pending", _) => "resolving",
            _ if ended < i64::try_from(self.counts.queued).unwrap_or(i64::MAX) => "sending",
            _ => "completed",
        }
    }
}

/// A campaign as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub template: String,
    pub channel: ChannelKind,
    pub targeting: Targeting,
    pub send_at: DateTime<Utc>,
    pub local_time: Option<String>,
    /// `scheduled`, `resolving`, `sending`, `completed` or `failed`.
    pub status: String,
    pub counts: Counts,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl CampaignView {
    pub fn new(id: &str, c: &Campaign, t: &Tally) -> Self {
        Self {
            id: id.to_owned(),
            name: c.name.clone(),
            template: c.template.clone(),
            channel: c.channel,
            targeting: c.targeting.clone(),
            send_at: c.send_at,
            local_time: c.local_time.clone(),
            status: c.status(t).to_owned(),
            counts: c.counts(t),
            created_at: c.created_at,
            resolved_at: c.resolved_at,
            error: c.error.clone(),
        }
    }
}

/// An account as the directory gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub region: Option<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    pub craft: Option<String>,
}

/// One page of the directory and the cursor after it.
#[derive(Debug, Clone, Deserialize)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub next_cursor: Option<String>,
}

/// Where audiences come from: the auth service's `GET /auth/users`.
#[async_trait]
pub trait Directory: Send + Sync {
    async fn page(
        &self,
        targeting: &Targeting,
        cursor: Option<&str>,
    ) -> Result<ContactPage, common::ClientError>;
}

/// The auth service over HTTP.
pub struct HttpDirectory(pub ServiceClient);

/// Accounts asked for per page.
pub const PAGE: usize = 100;

/// The query of a directory page.
pub fn directory_path(targeting: &Targeting, cursor: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (name, values) in [
        ("roles", &targeting.roles),
        ("regions", &targeting.regions),
        ("languages", &targeting.languages),
        ("crafts", &targeting.crafts),
    ] {
        if !values.is_empty() {
            q.append_pair(name, &values.join(","));
        }
    }
    q.append_pair("limit", &PAGE.to_string());
    if let Some(c) = cursor {
        q.append_pair("cursor", c);
    }
    format!("/auth/users?{}", q.finish())
}

#[async_trait]
impl Directory for HttpDirectory {
    async fn page(
        &self,
        targeting: &Targeting,
        cursor: Option<&str>,
    ) -> Result<ContactPage, common::ClientError> {
        self.0
            .send(
                http::Method::GET,
                &directory_path(targeting, cursor),
                None,
                &CallOptions::default(),
            )
            .await?
            .json(self.0.service())
    }
}

/// The first time at or after `from` that is `local` (HH:MM) in `zone`.
fn next_local(from: DateTime<Utc>, local: &str, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    let time = parse_time(local)?;
    let start = from.with_timezone(&zone).date_naive();
    (0..3).find_map(|d| {
        let day = start + chrono::Duration::days(d);
        let at = zone
            .from_local_datetime(&day.and_time(time))
            .earliest()?
            .with_timezone(&Utc);
        (at >= from).then_some(at)
    })
}

/// Resolves due campaigns into messages.
pub struct Campaigner {
    pub notifier: Arc<Notifier>,
    pub directory: Arc<dyn Directory>,
}

impl Campaigner {
    pub async fn run(self, cancel: CancellationToken) {
        let poll = Duration::from_millis(self.notifier.settings.poll_ms);
        loop {
            if let Err(e) = self.round(&cancel).await {
                tracing::warn!(error = %e, "campaigns: a round failed");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    async fn round(&self, cancel: &CancellationToken) -> Result<(), NotificationError> {
        let now = common::time::now().timestamp_micros();
        let q = Query::new()
            .eq("state", "pending")
            .filter("due", store::Op::Le, now)
            .order_by("due", Direction::Asc)
            .limit(4);
        let (due, _) = self
            .notifier
            .store
            .collection::<Campaign>()
            .query(&q)
            .await?;
        for c in due {
            if cancel.is_cancelled() {
                break;
            }
            if let Some(claims) = self.claim(&c.id).await? {
                self.resolve(&c.id, claims, cancel).await?;
            }
        }
        Ok(())
    }

    fn lease(&self) -> i64 {
        Duration::from_secs(self.notifier.settings.lease_secs).as_micros() as i64
    }

    async fn claim(&self, id: &str) -> Result<Option<u32>, NotificationError> {
        let lease = self.lease();
        self.notifier
            .store
            .transact(async |tx: &mut Txn| {
                let now = common::time::now().timestamp_micros();
                let Some(mut c) = tx.get::<Campaign>(id).await? else {
                    return Ok(None);
                };
                if c.value.state != "pending" || c.value.due > now {
                    return Ok(None);
                }
                c.value.claims += 1;
                c.value.due = now + lease;
                tx.update(&c)?;
                Ok::<_, NotificationError>(Some(c.value.claims))
            })
            .await
    }

    /// Queue the audience page by page from the campaign's cursor.
    async fn resolve(
        &self,
        id: &str,
        claims: u32,
        cancel: &CancellationToken,
    ) -> Result<(), NotificationError> {
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let Some(c) = self.notifier.store.collection::<Campaign>().get(id).await? else {
                return Ok(());
            };
            if c.value.state != "pending" || c.value.claims != claims {
                return Ok(());
            }
            let page = match self
                .directory
                .page(&c.value.targeting, c.value.cursor.as_deref())
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    // The directory is away: try again after a poll.
                    tracing::warn!(campaign = %id, error = %e, "campaigns: the directory did not answer");
                    return self.release(id, claims).await;
                }
            };
            let last = page.next_cursor.is_none();
            match self.queue_page(id, claims, page).await {
                Ok(()) => {}
                Err(NotificationError::Store(e)) => return Err(e.into()),
                // A user's message cannot be made (a template version
                // stored since needs a variable the campaign lacks, say):
                // the campaign stops, saying why, rather than retry forever.
                Err(other) => return self.fail(id, claims, other.to_string()).await,
            }
            self.notifier.wake.notify_one();
            if last {
                return Ok(());
            }
        }
    }

    /// Stop the campaign with `error` (what was queued still goes).
    async fn fail(&self, id: &str, claims: u32, error: String) -> Result<(), NotificationError> {
        tracing::warn!(campaign = %id, error = %error, "campaigns: a campaign failed");
        self.notifier
            .store
            .transact(async |tx: &mut Txn| {
                if let Some(mut c) = tx.get::<Campaign>(id).await?
                    && c.value.claims == claims
                    && c.value.state == "pending"
                {
                    c.value.state = "done".into();
                    c.value.error = Some(error.clone());
                    tx.update(&c)?;
                }
                Ok::<_, NotificationError>(())
            })
            .await
    }

    /// Let another round claim it again soon.
    async fn release(&self, id: &str, claims: u32) -> Result<(), NotificationError> {
        let retry = Duration::from_millis(self.notifier.settings.retry_base_ms).as_micros() as i64;
        self.notifier
            .store
            .transact(async |tx: &mut Txn| {
                if let Some(mut c) = tx.get::<Campaign>(id).await?
                    && c.value.claims == claims
                    && c.value.state == "pending"
                {
                    c.value.due = common::time::now().timestamp_micros() + retry;
                    tx.update(&c)?;
                }
                Ok::<_, NotificationError>(())
            })
            .await
    }

    /// One page's messages, the cursor after it and the counts, together.
    async fn queue_page(
        &self,
        id: &str,
        claims: u32,
        page: ContactPage,
    ) -> Result<(), NotificationError> {
        let notifier = &self.notifier;
        let rate = notifier.settings.campaign_rate_per_sec.max(1) as i64;
        let lease = self.lease();
        notifier
            .store
            .transact(async |tx: &mut Txn| {
                let now = common::time::now();
                let Some(mut c) = tx.get::<Campaign>(id).await? else {
                    return Ok(());
                };
                if c.value.state != "pending" || c.value.claims != claims {
                    return Ok(());
                }
                let start = c.value.send_at.max(c.value.created_at).timestamp_micros();
                for contact in &page.items {
                    let mid = format!("{id}-{}", contact.id);
                    if tx.get::<Notification>(&mid).await?.is_some() {
                        continue;
                    }
                    tx.set(
                        &contact.id,
                        &Recipient {
                            email: contact.email.clone(),
                            display_name: contact.display_name.clone(),
                            role: contact.role.clone(),
                            languages: contact.languages.clone(),
                            region: contact.region.clone().unwrap_or_default(),
                        },
                    )?;
                    let mut data = c.value.data.clone();
                    data.entry("name")
                        .or_insert_with(|| Value::String(contact.display_name.clone()));
                    let request = Request {
                        user_id: contact.id.clone(),
                        channel: c.value.channel,
                        template: c.value.template.clone(),
                        data,
                        priority: Priority::Low,
                        source: format!("campaign:{id}"),
                        email_to: None,
                    };
                    let mut m = notifier.prepare(tx, &request, "", now).await?;
                    m.campaign_id = Some(id.to_owned());
                    c.value.counts.audience += 1;
                    if m.status == "skipped" {
                        c.value.counts.skipped += 1;
                    } else {
                        // Throttled: the k-th message no sooner than k/rate s in.
                        let slot = start + c.value.counts.queued as i64 * 1_000_000 / rate;
                        let mut due = m.due.max(slot);
                        if let Some(local) = &c.value.local_time {
                            let zone = tx
                                .get::<Preferences>(&contact.id)
                                .await?
                                .map(|p| p.value.zone())
                                .unwrap_or(chrono_tz::Asia::Kolkata);
                            if let Some(at) = next_local(c.value.send_at, local, zone) {
                                due = due.max(at.timestamp_micros());
                            }
                        }
                        m.due = due;
                        c.value.counts.queued += 1;
                    }
                    tx.create(&mid, &m)?;
                }
                c.value.cursor = page.next_cursor.clone();
                if page.next_cursor.is_none() {
                    c.value.state = "done".into();
                    c.value.resolved_at = Some(now);
                } else {
                    c.value.due = now.timestamp_micros() + lease;
                }
                tx.update(&c)?;
                Ok::<_, NotificationError>(())
            })
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_local_time_is_the_next_one_in_the_users_zone() {
        let from: DateTime<Utc> = "2026-12-06T06:00:00Z".parse().unwrap();
        // 10:00 in Kolkata (UTC+5:30) is 04:30 UTC: passed today, so tomorrow.
        assert_eq!(
            next_local(from, "10:00", chrono_tz::Asia::Kolkata),
            Some("2026-12-07T04:30:00Z".parse().unwrap())
        );
        // 10:00 in London is 10:00 UTC: later today.
        assert_eq!(
            next_local(from, "10:00", chrono_tz::Europe::London),
            Some("2026-12-06T10:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn the_directory_is_asked_with_lists_joined() {
        let t = Targeting {
            roles: vec!["artisan".into()],
            regions: vec!["Odisha".into(), "West Bengal".into()],
            ..Targeting::default()
        };
        assert_eq!(
            directory_path(&t, Some("c1")),
            "/auth/users?roles=artisan&regions=Odisha%2CWest+Bengal&limit=100&cursor=c1"
        );
    }
}
