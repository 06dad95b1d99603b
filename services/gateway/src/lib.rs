//! The gateway (port 8000): the only door mobile and web clients use. It
//! routes by path prefix to the services, verifies the bearer token of
//! every request outside a short allow-list (caching verified tokens until
//! they expire), rate-limits per user or client IP, limits request bodies,
//! answers CORS, and streams requests and answers through without
//! buffering, over plain HTTP or TLS, with the gateway's own ID token for
//! each service on Cloud Run. `GET /ready` reports every upstream;
//! `GET /docs/all` shows every service's API on one page.

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use common::Service;
use common::config::ServiceAuthMode;
use common::serve::CheckFn;
use futures::FutureExt as _;
use http::Method;
use http::header::{self, HeaderName, HeaderValue};
use tower::Layer as _;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::OpenApi as _;

pub use config::Settings;

use crate::domain::limits::Limits;
use crate::domain::routing;
use crate::domain::upstream::{Upstream, Upstreams};
use crate::routes::ApiDoc;
use crate::state::Gateway;

/// The gateway's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::GATEWAY;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// Assemble the gateway.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let mut config = config.clone();
    // Answers stream after their head; only the head is timed, per route.
    config.shared.request_timeout_secs = config.service.slow_upstream_timeout_secs + 5;
    config.validate()?;
    let settings = config.service.clone();
    let auth = Arc::new(common::caller::authenticator(&config.shared.identity)?);
    let tls = settings
        .upstreams
        .values()
        .any(|u| u.scheme() == "https")
        .then(|| domain::upstream::tls_config(settings.upstream_ca_file.as_deref()))
        .transpose()?;
    let mut upstreams = Upstreams::new();
    for (_, service) in routing::PREFIXES {
        if upstreams.contains_key(service) {
            continue;
        }
        let base = settings
            .upstreams
            .get(*service)
            .ok_or_else(|| anyhow::anyhow!("no upstream URL for {service}"))?;
        upstreams.insert(
            service,
            Upstream::new(service, base, tls.clone(), &settings)?,
        );
    }
    // On Cloud Run every upstream call carries the gateway's own ID token
    // for that service, beside the caller's `Authorization`.
    let id_tokens = (config.shared.service_auth.mode == ServiceAuthMode::Metadata)
        .then(|| common::tokens::from_config(&config.shared))
        .flatten();
    let gateway = Arc::new(Gateway {
        id_tokens,
        tokens: quick_cache::sync::Cache::new(settings.token_cache_size),
        limits: Limits::new(&settings),
        upstreams,
        auth,
        settings: settings.clone(),
        docs: common::serve::Cached::default(),
    });
    let cors = cors(&settings)?;
    let router = routes::router(gateway.clone(), cors.clone());
    // CORS answers preflights itself and marks every answer.
    let proxied = gateway.clone();
    let proxy = Arc::new(routes::proxy::Proxy(cors.layer(tower::service_fn(
        move |request| routes::proxy::proxy(proxied.clone(), request).map(Ok::<_, Infallible>),
    ))));
    let mut service = events::verifies_tokens(
        Service::new(NAME, router, ApiDoc::openapi()).with_front(proxy),
        &config.shared,
        gateway.auth.clone(),
    );
    for name in gateway.upstreams.keys().copied() {
        let gw = gateway.clone();
        service = service.readiness(CheckFn::new(name, move || {
            let gw = gw.clone();
            async move { gw.upstream_ready(name).await }
        }));
    }
    let evictor = gateway.clone();
    Ok(
        service.background("rate-limit-eviction", move |cancel| async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(10)) => evictor.limits.evict(),
                }
            }
        }),
    )
}

fn cors(settings: &Settings) -> anyhow::Result<CorsLayer> {
    let origins = settings
        .cors_origins
        .iter()
        .map(|o| HeaderValue::from_str(o))
        .collect::<Result<std::collections::HashSet<_>, _>>()?;
    // A predicate over a shared set: the CORS service is cloned for every
    // request, and cloning a list would allocate each time.
    let origins = Arc::new(origins);
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origins.contains(origin)
        }))
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(Duration::from_secs(600)))
}
