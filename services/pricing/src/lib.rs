//! The pricing service (port 8003, `/pricing` at the gateway): prices an
//! artisan can trust — a fair-wage floor under every suggestion, market
//! evidence from real completed sales, the ML prediction when it answers,
//! each figure explained.

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use common::identity::Authenticator;
use common::{Service, ServiceClient};
use events::ServiceBase;

pub use config::Settings;
pub use error::PricingError;

use crate::domain::Pricing;
use crate::domain::consumer::PricingConsumer;
use crate::domain::ml::{HttpPricePredictor, PricePredictor};

/// The pricing service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::PRICING;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// What the service is built with besides its configuration.
pub struct Deps {
    pub auth: Arc<Authenticator>,
    pub predictor: Arc<dyn PricePredictor>,
}

/// Every index its queries need (the SQLite twins of the Firestore
/// composite indexes in `deploy/firestore.indexes.json`).
pub fn indexes() -> Vec<store::IndexSpec> {
    domain::market::indexes()
}

/// Assemble the pricing service with its real peers.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let s = &config.service;
    let ml = ServiceClient::new(
        "ml",
        s.ml_url.clone(),
        common::tokens::from_config(&config.shared),
    )
    .tuned(Duration::from_millis(s.ml_timeout_ms), 0);
    let deps = Deps {
        auth: Arc::new(common::caller::authenticator(&config.shared.identity)?),
        predictor: Arc::new(HttpPricePredictor(ml)),
    };
    build_with(config, deps).await
}

/// Assemble the pricing service with the given verifier and peers.
pub async fn build_with(config: &Config, deps: Deps) -> anyhow::Result<Service> {
    config.validate()?;
    let base = ServiceBase::open(&config.shared, &indexes()).await?;
    let pricing = Arc::new(Pricing {
        settings: config.service.clone(),
        store: base.store().clone(),
        publisher: base.publisher(),
        predictor: deps.predictor,
    });
    let state = state::AppState {
        pricing: pricing.clone(),
        auth: deps.auth.clone(),
    };
    let consumer = Arc::new(PricingConsumer(pricing));
    base.finish(routes::api(state), deps.auth, Some(consumer))
        .await
}
