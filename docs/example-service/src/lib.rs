//! The reviews service: buyers review products they ordered. The example
//! of docs/adding-a-service.md (not part of the platform: a real service
//! would add its `ServiceId` to `common::platform`).

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use std::sync::Arc;

use common::Service;
use common::identity::Authenticator;
use common::platform::ServiceId;
use events::ServiceBase;

pub use config::Settings;

/// The service: its name and default port.
pub const SERVICE: ServiceId = ServiceId {
    name: "reviews",
    port: 8009,
};
pub const NAME: &str = SERVICE.name;

pub type Config = common::Config<Settings>;

/// Assemble the service with its real dependencies.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let auth = Arc::new(common::caller::authenticator(&config.shared.identity)?);
    build_with(config, auth).await
}

/// Assemble the service with the given token verifier (tests).
pub async fn build_with(config: &Config, auth: Arc<Authenticator>) -> anyhow::Result<Service> {
    config.validate()?;
    let base = ServiceBase::open(&config.shared, &[]).await?;
    let state = state::AppState {
        reviews: base.store().collection(),
        eligible: base.store().collection(),
        auth: auth.clone(),
        max_text: config.service.max_text,
    };
    let consumer = Arc::new(domain::OrderConsumer);
    base.finish(routes::api(state), auth, Some(consumer)).await
}
