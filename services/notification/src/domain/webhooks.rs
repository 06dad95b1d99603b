//! Webhook endpoints and the signed requests sent to them (the Standard
//! Webhooks specification): `webhook-id` (the message's id, the same on
//! every retry), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`,
//! one per secret while a rotation overlaps, space-separated).
//!
//! Requests go only to addresses the SSRF guard checked at send time,
//! follow no redirect, time out, and read at most a capped answer.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use store::{Direction, Entity, IndexSpec};
use utoipa::ToSchema;

use super::channels::read_capped;
use super::ssrf::Guard;

/// The prefix of a secret (as Standard Webhooks writes them).
pub const SECRET_PREFIX: &str = "whsec_";

/// A user's endpoint; its id is random.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub user_id: String,
    pub url: String,
    pub description: Option<String>,
    pub secret: String,
    /// The secret before the last rotation, signing until `previous_until`.
    pub previous_secret: Option<String>,
    pub previous_until: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (none: the last one worked).
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Entity for Endpoint {
    const COLLECTION: &'static str = "webhook_endpoints";
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Endpoint::COLLECTION,
        &[("user_id", Direction::Asc), ("created_at", Direction::Asc)],
    )]
}

/// How many endpoints a user has; the id is the user's. Read in the
/// transaction that adds or removes one, so that two registrations at
/// once cannot pass the limit together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCount {
    pub n: usize,
}

impl Entity for EndpointCount {
    const COLLECTION: &'static str = "webhook_endpoint_counts";
}

/// A user's endpoints, oldest first (at most `max`).
pub async fn endpoints_of(
    store: &store::Store,
    user_id: &str,
    max: usize,
) -> Result<Vec<(String, Endpoint)>, store::StoreError> {
    let query = store::Query::new()
        .eq("user_id", user_id)
        .order_by("created_at", Direction::Asc)
        .limit(max.max(1));
    let (found, _) = store.collection::<Endpoint>().query(&query).await?;
    Ok(found.into_iter().map(|e| (e.id, e.value)).collect())
}

/// An endpoint as its owner sees it (the secret only when made or rotated).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub id: String,
    pub user_id: String,
    pub url: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// `whsec_…`: shown when the endpoint is made and when it is rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl EndpointView {
    pub fn new(id: &str, e: &Endpoint, with_secret: bool) -> Self {
        Self {
            id: id.to_owned(),
            user_id: e.user_id.clone(),
            url: e.url.clone(),
            description: e.description.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            previous_secret_until: e.previous_until,
            created_at: e.created_at,
            secret: with_secret.then(|| e.secret.clone()),
        }
    }
}

/// A new secret: 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// `v1,<signature>` of one message under one secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

impl Endpoint {
    /// A new, enabled endpoint of `user_id` at `url`, with a new secret.
    pub fn new(
        user_id: &str,
        url: String,
        description: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            user_id: user_id.to_owned(),
            url,
            description,
            secret: new_secret(),
            previous_secret: None,
            previous_until: None,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
        }
    }

    /// The `webhook-signature` header: the current secret's, and the
    /// previous one's while the rotation overlaps.
    pub fn signature(&self, now: DateTime<Utc>, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut header = sign(&self.secret, id, timestamp, body);
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_until)
            && now < until
        {
            header.push(' ');
            header.push_str(&sign(previous, id, timestamp, body));
        }
        header
    }

    /// Start using a new secret; the old one keeps signing for `overlap`.
    pub fn rotate(&mut self, now: DateTime<Utc>, overlap: Duration) {
        let old = std::mem::replace(&mut self.secret, new_secret());
        self.previous_secret = Some(old);
        self.previous_until = Some(now + chrono::Duration::from_std(overlap).unwrap_or_default());
    }
}

/// What an endpoint did with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// 2xx.
    Delivered { status: u16 },
    /// 410 Gone: the receiver wants no more; the endpoint is disabled.
    Gone,
    /// Anything else (another status, a timeout, an address refused at
    /// send time): tried again later.
    Failed { status: Option<u16>, detail: String },
}

/// A resolver that answers every name with the addresses the guard
/// checked.
struct Pinned(Vec<std::net::SocketAddr>);

impl reqwest::dns::Resolve for Pinned {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addrs = self.0.clone();
        Box::pin(async move { Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs) })
    }
}

/// Sends signed requests through the SSRF guard.
pub struct Sender {
    pub guard: Guard,
    pub timeout: Duration,
    pub max_response_bytes: usize,
}

impl Sender {
    /// POST `body` to `endpoint`, signed, as message `id`.
    pub async fn send(&self, endpoint: &Endpoint, id: &str, body: &[u8]) -> (Sent, Duration) {
        let started = Instant::now();
        let sent = self.try_send(endpoint, id, body).await;
        (sent, started.elapsed())
    }

    async fn try_send(&self, endpoint: &Endpoint, id: &str, body: &[u8]) -> Sent {
        let checked = match self.guard.check(&endpoint.url).await {
            Ok(c) => c,
            Err(refused) => {
                return Sent::Failed {
                    status: None,
                    detail: format!("refused before sending: {refused}"),
                };
            }
        };
        // Connect to the addresses checked, never to a second lookup's:
        // every name this client resolves is answered with them (the
        // host as written, with or without a trailing dot).
        let client = reqwest::Client::builder()
            .no_gzip()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(Pinned(checked.addrs.clone())))
            .build();
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                return Sent::Failed {
                    status: None,
                    detail: format!("client: {e}"),
                };
            }
        };
        let now = common::time::now();
        let timestamp = now.timestamp();
        let request = client
            .post(checked.url.clone())
            .header("content-type", "application/json")
            .header("user-agent", "CraftChain-Webhooks/1")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                endpoint.signature(now, id, timestamp, body),
            )
            .body(body.to_vec());
        match request.send().await {
            Err(e) => Sent::Failed {
                status: None,
                detail: if e.is_timeout() {
                    "timed out".into()
                } else {
                    "connection failed".into()
                },
            },
            Ok(response) => {
                let status = response.status().as_u16();
                let text = read_capped(response, self.max_response_bytes).await;
                match status {
                    200..=299 => Sent::Delivered { status },
                    410 => Sent::Gone,
                    _ => Sent::Failed {
                        status: Some(status),
                        detail: format!(
                            "HTTP {status}: {}",
                            text.chars().take(200).collect::<String>()
                        ),
                    },
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_signs_as_documented() {
        // The example of the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_until_the_overlap_ends() {
        let now = common::time::now();
        let mut e = Endpoint::new("u", "https://example.com/hook".into(), None, now);
        let old = e.secret.clone();
        e.rotate(now, Duration::from_secs(60));
        let header = e.signature(now, "m", 1, b"{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(
            parts,
            [sign(&e.secret, "m", 1, b"{}"), sign(&old, "m", 1, b"{}")]
        );
        let later = now + chrono::Duration::seconds(61);
        assert_eq!(
            e.signature(later, "m", 1, b"{}"),
            sign(&e.secret, "m", 1, b"{}")
        );
    }
}
