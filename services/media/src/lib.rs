//! The media service (port 8007, `/media` at the gateway): safe uploads
//! (formats sniffed from bytes, sizes checked from headers before
//! decoding, metadata stripped), fast variants (WebP and progressive JPEG
//! at 300, 800 and 1600 px) made off the async runtime under a concurrency
//! limit, and cache-friendly serving (ETag, immutable, Range).

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use std::sync::Arc;

use anyhow::Context as _;
use common::Service;
use common::identity::Authenticator;
use events::ServiceBase;

pub use config::Settings;
pub use error::MediaError;

use crate::domain::Library;
use crate::domain::blobs::BlobStore;
use crate::state::AppState;

/// The media service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::MEDIA;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// Assemble the media service.
/// Every index its queries need: none (it reads its documents by id).
pub fn indexes() -> Vec<store::IndexSpec> {
    Vec::new()
}

pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let auth = Arc::new(common::caller::authenticator(&config.shared.identity)?);
    build_with(config, auth).await
}

/// Assemble the media service with the given token verifier (tests).
pub async fn build_with(config: &Config, auth: Arc<Authenticator>) -> anyhow::Result<Service> {
    config.validate()?;
    let (shared, settings) = (&config.shared, &config.service);
    let base = ServiceBase::open(shared, &indexes()).await?;
    let blobs = BlobStore::open(
        &settings.blobs,
        &shared.service_dir().join("blobs"),
        &shared.service_auth.metadata_url,
    )
    .context("opening the blob store")?;
    let library = Library::new(
        base.store().clone(),
        blobs,
        base.publisher(),
        settings.limits(),
        settings.max_concurrent_jobs,
    );
    let state = AppState {
        library,
        auth: auth.clone(),
    };
    let consumer: Arc<dyn events::Consumer> = Arc::new(domain::Publications);
    let service = base
        .finish(routes::api(state), auth, Some(consumer))
        .await?;
    // Uploads are read field by field, each file under its own limit.
    Ok(service.with_body_limit(settings.max_request_bytes))
}
