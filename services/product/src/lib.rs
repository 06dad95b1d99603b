//! The product service (port 8001; `/products` and `/orders` at the
//! gateway): the catalogue, ranked multilingual search, orders with their
//! status machine, and engagement (views, likes, shares). AI analysis,
//! translations and suggested prices arrive later by events and show as
//! pending until then.

pub mod config;
pub mod consumer;
pub mod domain;
pub mod error;
pub mod indexing;
pub mod routes;
pub mod search;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use common::identity::Authenticator;
use common::serve::CheckFn;
use common::{Service, ServiceClient};
use events::Publisher;
use store::{Direction, IndexSpec, Store};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use config::Settings;

use crate::domain::clients::{HttpMediaApi, HttpMlApi, MediaApi, MlApi};
use crate::search::{SearchIndex, TantivyIndex};
use crate::state::AppState;

/// The product service's configuration.
pub type Config = common::Config<Settings>;

/// The service's name.
pub const NAME: &str = "product";

/// What the service depends on outside itself.
pub struct Deps {
    pub auth: Arc<Authenticator>,
    pub media: Arc<dyn MediaApi>,
    pub ml: Arc<dyn MlApi>,
}

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "products"), (name = "search"), (name = "orders"), (name = "engagement")))]
struct ApiDoc;

/// The indexes behind the list filters and sorts (SQLite expression
/// indexes; the same list is in deploy/firestore.indexes.json).
pub fn indexes() -> Vec<IndexSpec> {
    use Direction::{Asc, Desc};
    vec![
        IndexSpec::new("products", &[("status", Asc), ("created_at", Desc)]),
        IndexSpec::new(
            "products",
            &[("status", Asc), ("category", Asc), ("created_at", Desc)],
        ),
        IndexSpec::new("products", &[("status", Asc), ("price.amount", Asc)]),
        IndexSpec::new(
            "products",
            &[("status", Asc), ("category", Asc), ("price.amount", Asc)],
        ),
        IndexSpec::new(
            "products",
            &[("status", Asc), ("artisan_id", Asc), ("created_at", Desc)],
        ),
        IndexSpec::new(
            "products",
            &[("status", Asc), ("region", Asc), ("created_at", Desc)],
        ),
        IndexSpec::new("products", &[("updated_at", Asc)]),
        IndexSpec::new("orders", &[("buyer_id", Asc), ("created_at", Desc)]),
        IndexSpec::new("orders", &[("artisan_id", Asc), ("created_at", Desc)]),
    ]
}

/// Assemble the product service with its real dependencies.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let tokens = common::tokens::from_config(&config.shared);
    let deps = Deps {
        auth: Arc::new(common::caller::authenticator(&config.shared.identity)?),
        media: Arc::new(HttpMediaApi(ServiceClient::new(
            "media",
            config.service.media_url.clone(),
            tokens.clone(),
        ))),
        ml: Arc::new(HttpMlApi(
            ServiceClient::new("ml", config.service.ml_url.clone(), tokens)
                .tuned(Duration::from_secs(30), 1),
        )),
    };
    build_with(config, deps).await
}

/// Assemble the product service with the given dependencies (tests pass fakes).
pub async fn build_with(config: &Config, deps: Deps) -> anyhow::Result<Service> {
    config.validate()?;
    let shared = &config.shared;
    let dir = shared.service_dir();
    let store =
        Store::open_sqlite(dir.join("product.sqlite")).context("opening the product store")?;
    store.ensure_indexes(&indexes()).await?;
    let search: Arc<dyn SearchIndex> = Arc::new(TantivyIndex::open(&dir.join("search"))?);
    let state = AppState {
        products: store.collection(),
        engagement: store.collection(),
        orders: store.collection(),
        store: store.clone(),
        search,
        media: deps.media,
        ml: deps.ml,
        auth: deps.auth.clone(),
        publisher: Publisher::new(NAME),
        views: Arc::default(),
    };
    let synced_to = indexing::check_at_start(&state)
        .await
        .context("checking the search index")?;
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::products::router())
        .merge(routes::search::router())
        .merge(routes::engagement::router())
        .merge(routes::orders::router())
        .with_state(state.clone())
        .split_for_parts();
    let ping = store.clone();
    let (flush_state, sync_state) = (state.clone(), state);
    let (flush_every, sync_every) = (
        Duration::from_millis(config.service.view_flush_ms),
        Duration::from_millis(config.service.index_sync_ms),
    );
    let service = Service::new(NAME, router, openapi)
        .readiness(CheckFn::new("store", move || {
            let store = ping.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        }))
        .background("view-flush", move |cancel| {
            routes::engagement::flush_views(flush_state, flush_every, cancel)
        })
        .background("search-sync", move |cancel| {
            indexing::sync(sync_state, synced_to, sync_every, cancel)
        });
    Ok(events::attach(
        service,
        &store,
        shared,
        deps.auth,
        Some(Arc::new(consumer::ProductConsumer)),
    )
    .await?)
}
