//! Every service the launcher knows: its name, port and how to build it,
//! and who subscribes to which event (DESIGN.md's table). Adding a service
//! means adding one entry here.

use std::collections::BTreeMap;

use common::platform::{self, ServiceId};
use common::{Service, ServiceSettings, SharedConfig};
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
    /// Where a service that keeps blobs keeps them, when the launcher
    /// decides (a Cloud Storage emulator); else its settings say.
    pub blobs: Option<blobs::BlobConfig>,
}

type Build = fn(BuildContext) -> BoxFuture<'static, anyhow::Result<Service>>;

/// How to start one service.
pub struct ServiceSpec {
    /// Its name and port (`common::platform`).
    pub id: ServiceId,
    pub build: Build,
    /// The indexes its queries need (what it opens its store with).
    pub indexes: fn() -> Vec<store::IndexSpec>,
}

impl ServiceSpec {
    pub fn name(&self) -> &'static str {
        self.id.name
    }
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSpec").field("id", &self.id).finish()
    }
}

/// The services that exist today.
pub static SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        id: gateway::SERVICE,
        build: build_gateway,
        indexes: Vec::new,
    },
    ServiceSpec {
        id: product::SERVICE,
        build: build_product,
        indexes: product::indexes,
    },
    ServiceSpec {
        id: ml::SERVICE,
        build: build_ml,
        indexes: ml::indexes,
    },
    ServiceSpec {
        id: pricing::SERVICE,
        build: build_pricing,
        indexes: pricing::indexes,
    },
    ServiceSpec {
        id: analytics::SERVICE,
        build: build_analytics,
        indexes: analytics::indexes,
    },
    ServiceSpec {
        id: blockchain::SERVICE,
        build: build_blockchain,
        indexes: blockchain::indexes,
    },
    ServiceSpec {
        id: notification::SERVICE,
        build: build_notification,
        indexes: notification::indexes,
    },
    ServiceSpec {
        id: media::SERVICE,
        build: build_media,
        indexes: media::indexes,
    },
    ServiceSpec {
        id: auth::SERVICE,
        build: build_auth,
        indexes: auth::indexes,
    },
];

impl BuildContext {
    /// The service's own settings: read from the environment with
    /// `read_env`, else its defaults.
    pub fn settings<S: ServiceSettings>(&self) -> anyhow::Result<S> {
        Ok(if self.read_env {
            common::Config::<S>::from_env(self.shared.service, 0)?.service
        } else {
            S::default()
        })
    }

    /// Point `url` at `service` in this system (started here or not, every
    /// service of the platform has an address in a launched system; a
    /// service started alone keeps its configured URLs).
    pub fn point(&self, url: &mut Url, service: ServiceId) {
        if let Some(found) = self.urls.get(service.name) {
            url.clone_from(found);
        }
    }

    /// The whole configuration: the shared part the launcher made, and `settings`.
    pub fn config<S>(&self, settings: S) -> common::Config<S> {
        common::Config {
            shared: self.shared.clone(),
            service: settings,
        }
    }
}

fn build_ml(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: ml::Settings = ctx.settings()?;
        ctx.point(&mut s.media_url, platform::MEDIA);
        ml::build(&ctx.config(s)).await
    })
}

fn build_pricing(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: pricing::Settings = ctx.settings()?;
        ctx.point(&mut s.ml_url, platform::ML);
        pricing::build(&ctx.config(s)).await
    })
}

fn build_analytics(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: analytics::Settings = ctx.settings()?;
        if let Some(blobs) = &ctx.blobs {
            s.blobs = blobs.clone();
        }
        analytics::build(&ctx.config(s)).await
    })
}

fn build_notification(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: notification::Settings = ctx.settings()?;
        ctx.point(&mut s.public_url, platform::GATEWAY);
        ctx.point(&mut s.auth_url, platform::AUTH);
        notification::build(&ctx.config(s)).await
    })
}

fn build_blockchain(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: blockchain::Settings = ctx.settings()?;
        ctx.point(&mut s.product_url, platform::PRODUCT);
        ctx.point(&mut s.media_url, platform::MEDIA);
        ctx.point(&mut s.auth_url, platform::AUTH);
        ctx.point(&mut s.public_url, platform::GATEWAY);
        blockchain::build(&ctx.config(s)).await
    })
}

fn build_media(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: media::Settings = ctx.settings()?;
        if let Some(blobs) = &ctx.blobs {
            s.blobs = blobs.clone();
        }
        media::build(&ctx.config(s)).await
    })
}

fn build_product(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: product::Settings = ctx.settings()?;
        ctx.point(&mut s.media_url, platform::MEDIA);
        ctx.point(&mut s.ml_url, platform::ML);
        ctx.point(&mut s.blockchain_url, platform::BLOCKCHAIN);
        ctx.point(&mut s.self_url, platform::PRODUCT);
        product::build(&ctx.config(s)).await
    })
}

fn build_auth(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: auth::Settings = ctx.settings()?;
        s.service_secrets.extend(ctx.secrets.all());
        auth::build(&ctx.config(s)).await
    })
}

fn build_gateway(ctx: BuildContext) -> BoxFuture<'static, anyhow::Result<Service>> {
    Box::pin(async move {
        let mut s: gateway::Settings = ctx.settings()?;
        for (name, url) in &mut s.upstreams {
            if let Some(upstream) = ServiceId::named(name) {
                ctx.point(url, upstream);
            }
        }
        gateway::build(&ctx.config(s)).await
    })
}

/// Topic → the services that consume it.
pub static SUBSCRIPTIONS: &[(&str, &[&str])] = &[
    ("user.registered", &["notification", "analytics"]),
    ("user.login_attacked", &["notification"]),
    // Every service verifies tokens, so every service is told; it arrives
    // at `events::REVOCATIONS_PATH`, not `/events/push`.
    (
        "user.tokens_revoked",
        &[
            "gateway",
            "auth",
            "product",
            "ml",
            "pricing",
            "analytics",
            "blockchain",
            "notification",
            "media",
        ],
    ),
    ("product.created", &["ml", "pricing", "analytics", "media"]),
    ("product.updated", &["ml", "pricing", "analytics", "media"]),
    ("product.deleted", &["ml", "pricing", "analytics", "media"]),
    ("product.engagement", &["analytics"]),
    ("search.performed", &["analytics"]),
    ("order.placed", &["notification", "analytics"]),
    ("order.paid", &["blockchain", "notification", "analytics"]),
    ("order.shipped", &["notification", "analytics"]),
    (
        "order.cancelled",
        &["blockchain", "notification", "analytics"],
    ),
    (
        "payment.received",
        &["product", "notification", "analytics"],
    ),
    (
        "payment.refunded",
        &["product", "notification", "analytics"],
    ),
    (
        "order.completed",
        &["ml", "pricing", "blockchain", "notification", "analytics"],
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
    ("report.ready", &["notification"]),
];

/// Where a subscriber receives `topic`: revocations at their own route
/// (every service, with or without a store), the rest at `/events/push`.
pub(crate) fn push_path(topic: &str) -> &'static str {
    if topic == "user.tokens_revoked" {
        events::REVOCATIONS_PATH
    } else {
        "events/push"
    }
}

/// The services subscribed to `topic`.
pub fn subscribers_of(topic: &str) -> &'static [&'static str] {
    SUBSCRIPTIONS
        .iter()
        .find(|(t, _)| *t == topic)
        .map_or(&[], |(_, s)| s)
}

#[cfg(test)]
mod tests {
    use common::error::{Code, is_snake_case};

    /// Every problem code of the platform: the shared ones, the event
    /// endpoints' and each service's.
    fn all_codes() -> Vec<(&'static str, Code)> {
        let sets: [(&str, &[Code]); 12] = [
            ("common", common::error::codes::ALL),
            ("events", events::codes::ALL),
            ("imaging", imaging::CODES),
            ("gateway", gateway::error::CODES),
            ("product", product::error::CODES),
            ("ml", ml::error::CODES),
            ("pricing", pricing::error::CODES),
            ("analytics", analytics::error::CODES),
            ("blockchain", blockchain::error::CODES),
            ("notification", notification::error::CODES),
            ("media", media::error::CODES),
            ("auth", auth::error::CODES),
        ];
        sets.into_iter()
            .flat_map(|(owner, codes)| codes.iter().map(move |c| (owner, *c)))
            .collect()
    }

    #[test]
    fn every_problem_code_is_snake_case_and_defined_once() {
        let codes = all_codes();
        for (owner, code) in &codes {
            assert!(
                is_snake_case(code.as_str()),
                "{owner}: {code} is not snake_case"
            );
        }
        for (i, (owner, code)) in codes.iter().enumerate() {
            if let Some((other, _)) = codes[i + 1..].iter().find(|(_, c)| c == code) {
                panic!("{code} is defined by both {owner} and {other}");
            }
        }
        assert!(codes.len() > 30, "{} codes", codes.len());
    }
}
