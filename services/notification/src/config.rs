//! The notification service's own settings (`CRAFTCHAIN_NOTIFICATION_*`).
//!
//! Every channel defaults to the dev inbox: the message is rendered, kept
//! in the delivery log and marked delivered there, readable over the API.
//! A real provider is chosen per channel (`..._EMAIL__PROVIDER=sendgrid`).

use common::SharedConfig;
use common::config::Environment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Delivery workers (each sends one message at a time).
    pub workers: usize,
    /// How often an idle worker looks for due messages, in milliseconds
    /// (a new message wakes a worker at once).
    pub poll_ms: u64,
    /// Attempts before a message is failed (replayable afterwards).
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles, with ±20 % jitter.
    pub retry_base_ms: u64,
    /// The longest delay between two attempts.
    pub retry_max_ms: u64,
    /// How long a claimed message is its worker's; a worker that dies
    /// leaves it to another after this.
    pub lease_secs: u64,
    /// The most messages in one `POST /notifications/bulk`.
    pub bulk_max: usize,
    pub email: EmailProvider,
    pub sms: TwilioProvider,
    pub whatsapp: TwilioProvider,
    pub push: PushProvider,
    pub webhooks: WebhookSettings,
    /// Where unsubscribe links point: the gateway's public address.
    pub public_url: Url,
    /// Signs unsubscribe links (required in production; locally a fixed
    /// development key is used, so links survive restarts).
    pub link_secret: Option<SecretString>,
    /// Refuse SMS without the DLT entity and template ids India requires.
    pub require_dlt: bool,
    /// The auth service (campaign audiences come from its directory).
    pub auth_url: Url,
    /// A campaign's messages per second at most.
    pub campaign_rate_per_sec: u32,
    /// How far ahead a campaign may be scheduled, in days.
    pub campaign_max_days_ahead: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_ms: 1_000,
            max_attempts: 8,
            retry_base_ms: 5_000,
            retry_max_ms: 3_600_000,
            lease_secs: 300,
            bulk_max: 500,
            email: EmailProvider::Inbox,
            sms: TwilioProvider::Inbox,
            whatsapp: TwilioProvider::Inbox,
            push: PushProvider::Inbox,
            webhooks: WebhookSettings::default(),
            public_url: common::platform::GATEWAY.local_url(),
            link_secret: None,
            require_dlt: false,
            auth_url: common::platform::AUTH.local_url(),
            campaign_rate_per_sec: 20,
            campaign_max_days_ahead: 90,
        }
    }
}

/// The email channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
pub enum EmailProvider {
    /// The dev inbox.
    Inbox,
    /// SendGrid's v3 `mail/send`.
    Sendgrid {
        api_key: SecretString,
        from: String,
        #[serde(default)]
        from_name: Option<String>,
        #[serde(default = "sendgrid_url")]
        base_url: Url,
    },
    /// Any SMTP server (`smtp://host:port` with STARTTLS required,
    /// `smtps://` for TLS from the start, `smtp+plain://` locally only).
    Smtp {
        url: String,
        from: String,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<SecretString>,
    },
}

/// SMS or WhatsApp.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
pub enum TwilioProvider {
    Inbox,
    /// Twilio's Messages API.
    Twilio {
        account_sid: String,
        auth_token: SecretString,
        /// The sender: an E.164 number (the channel's `whatsapp:` prefix
        /// is added for WhatsApp) or a messaging service id (`MG…`).
        from: String,
        #[serde(default = "twilio_url")]
        base_url: Url,
    },
}

/// Push.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
pub enum PushProvider {
    Inbox,
    /// FCM HTTP v1, with the service account's token from the metadata
    /// server.
    Fcm {
        project_id: String,
        #[serde(default = "fcm_url")]
        base_url: Url,
    },
}

fn sendgrid_url() -> Url {
    Url::parse("https://api.sendgrid.com/").unwrap_or_else(|_| unreachable!())
}

fn twilio_url() -> Url {
    Url::parse("https://api.twilio.com/").unwrap_or_else(|_| unreachable!())
}

fn fcm_url() -> Url {
    Url::parse("https://fcm.googleapis.com/").unwrap_or_else(|_| unreachable!())
}

/// Outgoing webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Let webhooks reach loopback and private addresses (local testing
    /// only; refused in production).
    pub allow_private_networks: bool,
    /// Let webhooks use plain `http` (refused in production).
    pub allow_http: bool,
    /// The whole request, connection included, in milliseconds.
    pub timeout_ms: u64,
    /// The most of a receiver's answer read (the rest is dropped).
    pub max_response_bytes: usize,
    /// An endpoint failing for this long is disabled and its owner told.
    pub disable_after_secs: u64,
    /// How long the previous secret keeps signing after a rotation.
    pub rotation_overlap_secs: u64,
    /// The most endpoints a user may register.
    pub max_endpoints: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            allow_http: false,
            timeout_ms: 10_000,
            max_response_bytes: 64 * 1024,
            disable_after_secs: 5 * 24 * 3600,
            rotation_overlap_secs: 24 * 3600,
            max_endpoints: 10,
        }
    }
}

/// The key unsubscribe links are signed with locally, when none is set.
const DEVELOPMENT_LINK_KEY: &str = "craftchain-local-unsubscribe-links";

impl Settings {
    /// The key that signs unsubscribe links.
    pub fn link_key(&self) -> Vec<u8> {
        match &self.link_secret {
            Some(s) => s.expose_secret().as_bytes().to_vec(),
            None => DEVELOPMENT_LINK_KEY.as_bytes().to_vec(),
        }
    }
}

impl common::ServiceSettings for Settings {
    fn problems(&self, shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if !(1..=16).contains(&self.workers) {
            p.push("workers must be 1 to 16".to_owned());
        }
        if self.poll_ms == 0 || self.retry_base_ms == 0 || self.lease_secs == 0 {
            p.push("poll_ms, retry_base_ms and lease_secs must be positive".to_owned());
        }
        if !(1..=20).contains(&self.max_attempts) {
            p.push("max_attempts must be 1 to 20".to_owned());
        }
        if self.retry_max_ms < self.retry_base_ms {
            p.push("retry_max_ms must be at least retry_base_ms".to_owned());
        }
        if !(1..=10_000).contains(&self.campaign_rate_per_sec) {
            p.push("campaign_rate_per_sec must be 1 to 10,000".to_owned());
        }
        if !(1..=366).contains(&self.campaign_max_days_ahead) {
            p.push("campaign_max_days_ahead must be 1 to 366".to_owned());
        }
        if !(1..=5_000).contains(&self.bulk_max) {
            p.push("bulk_max must be 1 to 5,000".to_owned());
        }
        let w = &self.webhooks;
        if w.timeout_ms == 0 || w.max_response_bytes == 0 || w.max_endpoints == 0 {
            p.push(
                "webhooks: timeout_ms, max_response_bytes and max_endpoints must be positive"
                    .to_owned(),
            );
        }
        // A send must end within its lease, or another worker sends it too:
        // every endpoint's lookup and request, or a provider's call.
        let per_endpoint = w.timeout_ms / 1000 + crate::domain::ssrf::LOOKUP_TIMEOUT.as_secs() + 1;
        let longest = (w.max_endpoints as u64 * per_endpoint)
            .max(crate::domain::channels::PROVIDER_TIMEOUT.as_secs() * 5);
        if self.lease_secs <= longest + 30 {
            p.push(format!(
                "lease_secs must be over {} (the longest send, with a margin)",
                longest + 30
            ));
        }
        if let EmailProvider::Smtp { url, .. } = &self.email
            && crate::domain::channels::smtp::parse_url(url).is_err()
        {
            p.push(format!(
                "email: {url:?} is not an smtp://, smtps:// or smtp+plain:// URL"
            ));
        }
        if shared.environment == Environment::Production {
            if w.allow_private_networks || w.allow_http {
                p.push(
                    "webhooks may not reach private networks or use http in production".to_owned(),
                );
            }
            if self.link_secret.is_none() {
                p.push(
                    "link_secret is required in production (it signs unsubscribe links)".to_owned(),
                );
            }
            if let EmailProvider::Smtp { url, .. } = &self.email
                && url.starts_with("smtp+plain:")
            {
                p.push("email: plain SMTP is refused in production".to_owned());
            }
        }
        p
    }
}
