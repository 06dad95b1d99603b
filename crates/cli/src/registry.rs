//! Every service the launcher knows: its name, port and how to build it,
//! and who subscribes to which event (DESIGN.md's table). Adding a service
//! means adding one entry here.

use std::collections::BTreeMap;

use common::{Service, SharedConfig};
use futures::future::BoxFuture;
use url::Url;

use crate::secrets::Secrets;

/// What building a service may need to know.
#[derive(Debug, Clone)]
pub struct BuildContext {
    pub shared: SharedConfig,
    pub secrets: Secrets,
    /// Read the service's own settings from the environment.
    pub read_env: bool,
    /// Where every service of the platform is.
    pub urls: BTreeMap<&'static str, Url>,
}

type Build = fn(BuildContext) -> BoxFuture<'static, anyhow::Result<Service>>;

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
pub static SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: gateway::NAME,
        port_offset: 0,
        build: build_gateway,
    },
    ServiceSpec {
        name: product::NAME,
        port_offset: 1,
        build: build_product,
    },
    ServiceSpec {
        name: blockchain::NAME,
        port_offset: 5,
        build: build_blockchain,
    },
    ServiceSpec {
        name: media::NAME,
        port_offset: 7,
        build: build_media,
    },
    ServiceSpec {
        name: auth::NAME,
        port_offset: 8,
        build: build_auth,
    },
];

fn build_blockchain(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut settings = if ctx.read_env {
            blockchain::Config::from_env(blockchain::NAME, 0)?.service
        } else {
            blockchain::Settings::default()
        };
        for (name, url) in [
            ("product", &mut settings.product_url),
            ("media", &mut settings.media_url),
            ("auth", &mut settings.auth_url),
            ("gateway", &mut settings.public_url),
        ] {
            if let Some(u) = ctx.urls.get(name) {
                *url = u.clone();
            }
        }
        blockchain::build(&blockchain::Config {
            shared: ctx.shared,
            service: settings,
        })
        .await
    })
}

fn build_media(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let settings = if ctx.read_env {
            media::Config::from_env(media::NAME, 0)?.service
        } else {
            media::Settings::default()
        };
        media::build(&media::Config {
            shared: ctx.shared,
            service: settings,
        })
        .await
    })
}

fn build_product(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut settings = if ctx.read_env {
            product::Config::from_env(product::NAME, 0)?.service
        } else {
            product::Settings::default()
        };
        if let Some(url) = ctx.urls.get("media") {
            settings.media_url = url.clone();
        }
        if let Some(url) = ctx.urls.get("ml") {
            settings.ml_url = url.clone();
        }
        product::build(&product::Config {
            shared: ctx.shared,
            service: settings,
        })
        .await
    })
}

fn build_auth(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut settings = if ctx.read_env {
            auth::Config::from_env(auth::NAME, 0)?.service
        } else {
            auth::Settings::default()
        };
        settings.service_secrets.extend(ctx.secrets.all());
        auth::build(&auth::Config {
            shared: ctx.shared,
            service: settings,
        })
        .await
    })
}

fn build_gateway(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut settings = if ctx.read_env {
            gateway::Config::from_env(gateway::NAME, 0)?.service
        } else {
            gateway::Settings::default()
        };
        for (name, url) in &ctx.urls {
            if *name != gateway::NAME {
                settings.upstreams.insert((*name).to_owned(), url.clone());
            }
        }
        gateway::build(&gateway::Config {
            shared: ctx.shared,
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
    ("product.engagement", &["analytics"]),
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
