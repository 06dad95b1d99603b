//! The media service (port 8007, `/media` at the gateway): safe uploads
//! (formats sniffed from bytes, sizes checked from headers before
//! decoding, metadata stripped), fast variants (WebP and progressive JPEG
//! at 300, 800 and 1600 px) made off the async runtime under a concurrency
//! limit, and cache-friendly serving (ETag, immutable, Range).

pub mod blobs;
pub mod config;
pub mod domain;
pub mod gcs;
pub mod pipeline;
pub mod routes;
pub mod state;

use std::sync::Arc;

use anyhow::Context as _;
use common::Service;
use common::serve::CheckFn;
use events::Publisher;
use store::Store;
use tokio::sync::Semaphore;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use config::Settings;

use crate::blobs::BlobStore;
use crate::state::AppState;

/// The media service's configuration.
pub type Config = common::Config<Settings>;

/// The service's name.
pub const NAME: &str = "media";

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "media")))]
struct ApiDoc;

/// Assemble the media service.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let auth = Arc::new(common::caller::authenticator(&config.shared.identity)?);
    build_with(config, auth).await
}

/// Assemble the media service with the given token verifier (tests).
pub async fn build_with(
    config: &Config,
    auth: Arc<common::identity::Authenticator>,
) -> anyhow::Result<Service> {
    config.validate()?;
    let shared = &config.shared;
    let dir = shared.service_dir();
    let store = Store::open_sqlite(dir.join("media.sqlite")).context("opening the media store")?;
    let blobs = BlobStore::open(
        &config.service.blobs,
        &dir.join("blobs"),
        &shared.service_auth.metadata_url,
    )
    .context("opening the blob store")?;
    let state = AppState {
        media: store.collection(),
        store: store.clone(),
        blobs,
        auth: auth.clone(),
        publisher: Publisher::new(NAME),
        settings: Arc::new(config.service.clone()),
        jobs: Arc::new(Semaphore::new(config.service.max_concurrent_jobs)),
    };
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::upload::router())
        .merge(routes::content::router())
        .merge(routes::manage::router())
        .with_state(state)
        .split_for_parts();
    let ping = store.clone();
    let service = Service::new(NAME, router, openapi)
        // Uploads are read field by field, each file under its own limit.
        .with_body_limit(config.service.max_request_bytes)
        .readiness(CheckFn::new("store", move || {
            let store = ping.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        }));
    Ok(events::attach(service, &store, shared, auth, None).await?)
}
