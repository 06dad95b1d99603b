//! Channels behind one trait, chosen by configuration: the dev inbox
//! (every channel's local default), SendGrid or SMTP for email, Twilio for
//! SMS and WhatsApp, FCM for push. Webhooks have their own sender
//! (`super::webhooks`): they go to the user's endpoints, signed.

pub mod fcm;
pub mod sendgrid;
pub mod smtp;
pub mod twilio;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::ChannelKind;
use super::templates::{Dlt, WhatsappContent};
use crate::config::{EmailProvider, PushProvider, Settings, TwilioProvider};

/// Where a message goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Address {
    Email { to: String, name: String },
    Phone(String),
    Devices(Vec<String>),
}

/// A rendered message for a provider.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: String,
    pub channel: ChannelKind,
    pub to: Address,
    pub subject: Option<String>,
    pub body: String,
    /// Marketing messages: the one-click unsubscribe link (RFC 8058).
    pub unsubscribe_url: Option<String>,
    pub dlt: Option<Dlt>,
    /// WhatsApp: the approved template to send instead of free text.
    pub whatsapp: Option<WhatsappContent>,
    pub urgent: bool,
}

/// What a provider did with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Accepted; the provider's id of it when it gave one.
    Delivered {
        provider_id: Option<String>,
        status: Option<u16>,
    },
    /// Not now (a timeout, 429, 5xx): try again later.
    Retry { status: Option<u16>, detail: String },
    /// Never (a refused address, a bad request): do not try again.
    Failed { status: Option<u16>, detail: String },
}

/// A way to reach a user.
#[async_trait]
pub trait Channel: Send + Sync {
    /// The provider's name, as attempts record it.
    fn provider(&self) -> &'static str;
    async fn send(&self, message: &Outgoing) -> Delivery;
}

/// The dev inbox: the delivery log is the mailbox, readable over the API.
pub struct DevInbox;

#[async_trait]
impl Channel for DevInbox {
    fn provider(&self) -> &'static str {
        "dev_inbox"
    }

    async fn send(&self, message: &Outgoing) -> Delivery {
        tracing::info!(notification = %message.id, channel = message.channel.as_str(), "kept in the dev inbox");
        Delivery::Delivered {
            provider_id: None,
            status: None,
        }
    }
}

/// The channel for each kind (in-app and webhooks are the service's own).
pub struct Channels {
    pub email: Arc<dyn Channel>,
    pub sms: Arc<dyn Channel>,
    pub whatsapp: Arc<dyn Channel>,
    pub push: Arc<dyn Channel>,
}

/// How long a provider call may take.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

impl Channels {
    /// The providers `settings` choose.
    pub fn from_settings(settings: &Settings, metadata_url: &url::Url) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_gzip()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let email: Arc<dyn Channel> = match &settings.email {
            EmailProvider::Inbox => Arc::new(DevInbox),
            EmailProvider::Sendgrid {
                api_key,
                from,
                from_name,
                base_url,
            } => Arc::new(sendgrid::SendGrid {
                http: http.clone(),
                base_url: base_url.clone(),
                api_key: api_key.clone(),
                from: from.clone(),
                from_name: from_name.clone(),
            }),
            EmailProvider::Smtp {
                url,
                from,
                username,
                password,
            } => Arc::new(smtp::Smtp::new(
                url,
                from,
                username.clone(),
                password.clone(),
            )?),
        };
        let twilio = |p: &TwilioProvider| -> Arc<dyn Channel> {
            match p {
                TwilioProvider::Inbox => Arc::new(DevInbox),
                TwilioProvider::Twilio {
                    account_sid,
                    auth_token,
                    from,
                    base_url,
                } => Arc::new(twilio::Twilio {
                    http: http.clone(),
                    base_url: base_url.clone(),
                    account_sid: account_sid.clone(),
                    auth_token: auth_token.clone(),
                    from: from.clone(),
                }),
            }
        };
        let push: Arc<dyn Channel> = match &settings.push {
            PushProvider::Inbox => Arc::new(DevInbox),
            PushProvider::Fcm {
                project_id,
                base_url,
            } => Arc::new(fcm::Fcm {
                http: http.clone(),
                base_url: base_url.clone(),
                project_id: project_id.clone(),
                tokens: Arc::new(common::tokens::GoogleAccessTokens::new(metadata_url)?),
            }),
        };
        Ok(Self {
            email,
            sms: twilio(&settings.sms),
            whatsapp: twilio(&settings.whatsapp),
            push,
        })
    }

    /// The channel of `kind`, if it has one here.
    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn Channel>> {
        match kind {
            ChannelKind::Email => Some(&self.email),
            ChannelKind::Sms => Some(&self.sms),
            ChannelKind::Whatsapp => Some(&self.whatsapp),
            ChannelKind::Push => Some(&self.push),
            ChannelKind::Webhook | ChannelKind::InApp => None,
        }
    }
}

/// How an HTTP provider's answer maps to a delivery: 2xx delivered, 408,
/// 429 and 5xx retried, other 4xx failed.
pub fn classify(status: u16, provider_id: Option<String>, body: &str) -> Delivery {
    let detail = || {
        format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        )
    };
    match status {
        200..=299 => Delivery::Delivered {
            provider_id,
            status: Some(status),
        },
        408 | 429 | 500..=599 => Delivery::Retry {
            status: Some(status),
            detail: detail(),
        },
        _ => Delivery::Failed {
            status: Some(status),
            detail: detail(),
        },
    }
}

/// A transport failure (no answer): retried.
pub fn unreachable(provider: &str, err: &reqwest::Error) -> Delivery {
    Delivery::Retry {
        status: None,
        detail: format!(
            "{provider} did not answer: {}",
            if err.is_timeout() {
                "timed out"
            } else {
                "connection failed"
            }
        ),
    }
}

/// Read at most `max` bytes of an answer's body, as text.
pub async fn read_capped(mut response: reqwest::Response, max: usize) -> String {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= max {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
