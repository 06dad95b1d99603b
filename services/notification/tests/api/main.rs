//! The notification service through its HTTP stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod campaigns;
mod channels;
mod events;
mod helpers;
mod messages;
mod preferences;
mod ssrf;
mod templates;
mod webhooks;
