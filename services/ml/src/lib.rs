//! The ML service (port 8002, `/ml` at the gateway): product photos
//! measured — palette by k-means in Lab, quality from sharpness, exposure,
//! clipping, contrast, resolution, noise and background, tips and style
//! tags from those measurements — and listed products' photos analysed in
//! the background and published as `ml.analysis.completed`.

pub mod config;
pub mod domain;
pub mod error;
pub mod providers;
pub mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use common::identity::Authenticator;
use common::{Service, ServiceClient};
use events::ServiceBase;

pub use config::Settings;
pub use error::MlError;

use crate::domain::Analyser;
use crate::domain::consumer::MlConsumer;
use crate::domain::jobs::Worker;
use crate::domain::media::{HttpMediaApi, MediaApi};

/// The ML service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::ML;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// What the service is built with besides its configuration.
pub struct Deps {
    pub auth: Arc<Authenticator>,
    pub media: Arc<dyn MediaApi>,
    /// Text, translation, vision and embedding providers (none: local).
    pub providers: providers::Providers,
}

/// Every index its queries need (the SQLite twins of the Firestore
/// composite indexes in `deploy/firestore.indexes.json`).
pub fn indexes() -> Vec<store::IndexSpec> {
    [
        domain::jobs::indexes(),
        domain::price::indexes(),
        domain::listing::indexes(),
    ]
    .concat()
}

/// Assemble the ML service with its real peers.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let media = ServiceClient::new(
        "media",
        config.service.media_url.clone(),
        common::tokens::from_config(&config.shared),
    );
    let deps = Deps {
        auth: Arc::new(common::caller::authenticator(&config.shared.identity)?),
        media: Arc::new(HttpMediaApi(media)),
        providers: providers::Providers::from_settings(
            &config.service.providers,
            &config.shared.service_auth.metadata_url,
        )?,
    };
    build_with(config, deps).await
}

/// Assemble the ML service with the given verifier and peers.
pub async fn build_with(config: &Config, deps: Deps) -> anyhow::Result<Service> {
    config.validate()?;
    let settings = &config.service;
    let base = ServiceBase::open(&config.shared, &indexes()).await?;
    let analyser = Analyser::new(settings);
    let worker = Worker {
        store: base.store().clone(),
        publisher: base.publisher(),
        media: deps.media.clone(),
        analyser: analyser.clone(),
        interval: Duration::from_millis(settings.worker_interval_ms),
        providers: deps.providers.clone(),
    };
    let state = state::AppState {
        store: base.store().clone(),
        analyser,
        media: deps.media,
        auth: deps.auth.clone(),
        providers: deps.providers,
        max_image_bytes: settings.max_image_bytes,
    };
    Ok(base
        .finish(routes::api(state), deps.auth, Some(Arc::new(MlConsumer)))
        .await?
        .background("photo analyses", move |cancel| worker.run(cancel)))
}
