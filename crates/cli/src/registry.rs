//! Every service the launcher knows: its name, port and how to build it,
//! and who subscribes to which event (DESIGN.md's table). Adding a service
//! means adding one entry here.

use common::{Service, SharedConfig};
use futures::future::BoxFuture;

use crate::secrets::Secrets;

type Build = fn(SharedConfig, Secrets, bool) -> BoxFuture<'static, anyhow::Result<Service>>;

/// How to start one service.
pub struct ServiceSpec {
    pub name: &'static str,
    /// Port = base + offset (8000 + 8 for auth).
    pub port_offset: u16,
    pub build: Build,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .finish()
    }
}

/// The services that exist today.
pub static SERVICES: &[ServiceSpec] = &[ServiceSpec {
    name: auth::NAME,
    port_offset: 8,
    build: build_auth,
}];

fn build_auth(
    shared: SharedConfig,
    secrets: Secrets,
    read_env: bool,
) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut settings = if read_env {
            auth::Config::from_env(auth::NAME, 0)?.service
        } else {
            auth::Settings::default()
        };
        settings.service_secrets.extend(secrets.all());
        auth::build(&auth::Config {
            shared,
            service: settings,
        })
        .await
    })
}

/// Topic → the services that consume it.
pub static SUBSCRIPTIONS: &[(&str, &[&str])] = &[
    ("user.registered", &["notification", "analytics"]),
    ("product.created", &["ml", "pricing", "analytics"]),
    ("product.updated", &["analytics"]),
    ("product.deleted", &["analytics"]),
    ("order.placed", &["notification", "analytics"]),
    (
        "order.completed",
        &["pricing", "blockchain", "notification", "analytics"],
    ),
    ("ml.analysis.completed", &["product", "analytics"]),
    ("pricing.suggested", &["product", "analytics"]),
    (
        "payment.executed",
        &["product", "notification", "analytics"],
    ),
    ("provenance.minted", &["analytics"]),
    ("media.uploaded", &["analytics"]),
    ("notification.delivered", &["analytics"]),
];

/// The services subscribed to `topic`.
pub fn subscribers_of(topic: &str) -> &'static [&'static str] {
    SUBSCRIPTIONS
        .iter()
        .find(|(t, _)| *t == topic)
        .map_or(&[], |(_, s)| s)
}
