//! The product service (port 8001; `/products` and `/orders` at the
//! gateway): the catalogue, ranked multilingual search, orders with their
//! status machine, and engagement (views, likes, shares). AI analysis,
//! translations and suggested prices arrive later by events and show as
//! pending until then.

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod search;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use common::identity::Authenticator;
use common::{Service, ServiceClient, platform};
use events::ServiceBase;
use store::{Direction, IndexSpec};

pub use config::Settings;

use crate::domain::clients::{HttpMediaApi, HttpMlApi, MediaApi, MlApi};
use crate::domain::consumer::ProductConsumer;
use crate::domain::payments::escrow::{EscrowApi, HttpEscrowApi};
use crate::domain::snapshots::Snapshots;
use crate::domain::{engagement, indexing, payments};
use crate::search::{SearchIndex, TantivyIndex};
use crate::state::AppState;

/// The product service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: platform::ServiceId = platform::PRODUCT;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// What the service depends on outside itself.
pub struct Deps {
    pub auth: Arc<Authenticator>,
    pub media: Arc<dyn MediaApi>,
    pub ml: Arc<dyn MlApi>,
    pub escrow: Arc<dyn EscrowApi>,
}

/// The indexes behind the list filters and sorts (SQLite expression
/// indexes; the same list is in deploy/firestore.indexes.json).
pub fn indexes() -> Vec<IndexSpec> {
    use Direction::{Asc, Desc};
    let mut indexes = domain::listing::listing_indexes();
    indexes.extend([
        IndexSpec::new("products", &[("updated_at", Asc)]),
        IndexSpec::new("orders", &[("buyer_id", Asc), ("created_at", Desc)]),
        IndexSpec::new("orders", &[("artisan_id", Asc), ("created_at", Desc)]),
        // `GET /orders?status=`.
        IndexSpec::new(
            "orders",
            &[("buyer_id", Asc), ("status", Asc), ("created_at", Desc)],
        ),
        IndexSpec::new(
            "orders",
            &[("artisan_id", Asc), ("status", Asc), ("created_at", Desc)],
        ),
        // The payment sweep: unpaid orders past their expiry, refunds owed.
        IndexSpec::new("orders", &[("status", Asc), ("expires_at", Asc)]),
        IndexSpec::new("orders", &[("refund_due", Asc), ("updated_at", Asc)]),
    ]);
    indexes
}

/// Assemble the product service with its real dependencies.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let tokens = common::tokens::from_config(&config.shared);
    let deps = Deps {
        auth: Arc::new(common::caller::authenticator(&config.shared.identity)?),
        media: Arc::new(HttpMediaApi(ServiceClient::new(
            platform::MEDIA.name,
            config.service.media_url.clone(),
            tokens.clone(),
        ))),
        ml: Arc::new(HttpMlApi(
            ServiceClient::new(
                platform::ML.name,
                config.service.ml_url.clone(),
                tokens.clone(),
            )
            .tuned(Duration::from_secs(30), 1),
        )),
        escrow: Arc::new(HttpEscrowApi(ServiceClient::new(
            platform::BLOCKCHAIN.name,
            config.service.blockchain_url.clone(),
            tokens,
        ))),
    };
    build_with(config, deps).await
}

/// Assemble the product service with the given dependencies (tests pass fakes).
pub async fn build_with(config: &Config, deps: Deps) -> anyhow::Result<Service> {
    config.validate()?;
    let shared = &config.shared;
    let base = ServiceBase::open(shared, &indexes()).await?;
    let search: Arc<dyn SearchIndex> =
        Arc::new(TantivyIndex::open(&shared.service_dir().join("search"))?);
    let auth = deps.auth.clone();
    let mut state = AppState::new(&base, search, deps, &config.service);
    if let Some(blobs) = &config.service.search_snapshots {
        let blobs = blobs::BlobStore::open(
            blobs,
            &shared.service_dir().join("snapshots"),
            &shared.service_auth.metadata_url,
        )?;
        let max_age = chrono::Duration::seconds(
            i64::try_from(config.service.search_snapshot_max_age_secs).unwrap_or(i64::MAX / 1000),
        );
        state.snapshots = Some(Snapshots::new(blobs, max_age));
    }
    let synced_to = indexing::check_at_start(&state)
        .await
        .context("checking the search index")?;
    let (flush_state, sync_state, sweep_state) = (state.clone(), state.clone(), state.clone());
    let sweep_every = Duration::from_millis(config.service.payments.sweep_ms);
    let (flush_every, sync_every) = (
        Duration::from_millis(config.service.view_flush_ms),
        Duration::from_millis(config.service.index_sync_ms),
    );
    let consumer = Arc::new(ProductConsumer {
        state: state.clone(),
    });
    let service = base
        .finish(routes::api(state), auth, Some(consumer))
        .await?
        .background("view-flush", move |cancel| {
            engagement::flush_views(flush_state, flush_every, cancel)
        })
        .background("search-sync", move |cancel| {
            indexing::sync(sync_state, synced_to, sync_every, cancel)
        })
        .background("payment-sweep", move |cancel| {
            payments::sweep_loop(sweep_state, sweep_every, cancel)
        });
    Ok(service)
}
