//! What the notification service knows, without HTTP: messages and their
//! delivery, templates, preferences, webhook endpoints, and the events
//! that become messages.

pub mod campaigns;
pub mod channels;
pub mod consumer;
pub mod links;
pub mod message;
pub mod preferences;
pub mod queue;
pub mod ssrf;
pub mod templates;
pub mod webhooks;
pub mod worker;

use std::sync::Arc;

use common::{Caller, Role};
use serde::{Deserialize, Serialize};
use store::Store;
use tokio::sync::Notify;
use utoipa::ToSchema;

use crate::config::Settings;

pub use message::{Attempt, Notification, NotificationView};

/// How a message reaches its user.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Sms,
    Whatsapp,
    Push,
    Webhook,
    InApp,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 6] = [
        Self::Email,
        Self::Sms,
        Self::Whatsapp,
        Self::Push,
        Self::Webhook,
        Self::InApp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
            Self::Push => "push",
            Self::Webhook => "webhook",
            Self::InApp => "in_app",
        }
    }

    /// Channels that interrupt (a phone buzzes): held back in quiet hours.
    pub fn interrupts(self) -> bool {
        matches!(self, Self::Sms | Self::Whatsapp | Self::Push)
    }

    /// Channels whose text is short (the template's `short` text).
    pub fn is_short(self) -> bool {
        matches!(self, Self::Sms | Self::Whatsapp | Self::Push)
    }
}

/// How urgent a message is: `urgent` ignores quiet hours.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

/// What a message is about: transactional messages (orders, payments,
/// the account) ignore marketing opt-outs; marketing messages carry an
/// unsubscribe link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Transactional,
    Marketing,
}

/// The service's shared parts, for routes, the consumer and the workers.
pub struct Notifier {
    pub settings: Settings,
    pub store: Store,
    pub channels: channels::Channels,
    pub webhooks: webhooks::Sender,
    /// Wakes a delivery worker when a message is queued.
    pub wake: Arc<Notify>,
}

/// Who may see a user's messages, preferences and endpoints: the user
/// themself, an admin, or a service acting for the platform. Every route
/// returning one (detail, list, inbox) asks this.
pub fn may_see(caller: &Caller, user_id: &str) -> bool {
    caller.uid == user_id || matches!(caller.role, Role::Admin | Role::Service)
}
