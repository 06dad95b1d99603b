//! The blockchain service (port 8005, `/blockchain` at the gateway):
//! provenance NFTs whose product hash the service computes and re-checks,
//! and fair-pay splits paid exactly once per order.

pub mod chain;
pub mod clients;
pub mod config;
pub mod contracts;
pub mod deploy;
pub mod hashing;
pub mod node;
pub mod payments;
pub mod provenance;
pub mod state;
pub mod wallet;

use std::sync::Arc;

use anyhow::Context as _;
use common::Service;
use common::client::ServiceClient;
use common::serve::CheckFn;
use events::Publisher;
use store::Store;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use config::Settings;

use crate::chain::Chain;
use crate::clients::{HttpMediaApi, HttpProductApi, HttpUserApi};
use crate::node::LocalNode;
use crate::state::{AppState, Peers};

/// The blockchain service's configuration.
pub type Config = common::Config<Settings>;

/// The service's name.
pub const NAME: &str = "blockchain";

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "blockchain")))]
struct ApiDoc;

/// Assemble the blockchain service with its real peers.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let tokens = common::tokens::from_config(&config.shared);
    let s = &config.service;
    let peers = Peers {
        products: Arc::new(HttpProductApi(ServiceClient::new(
            "product",
            s.product_url.clone(),
            tokens.clone(),
        ))),
        media: Arc::new(HttpMediaApi(ServiceClient::new(
            "media",
            s.media_url.clone(),
            tokens.clone(),
        ))),
        users: Arc::new(HttpUserApi(ServiceClient::new(
            "auth",
            s.auth_url.clone(),
            tokens,
        ))),
    };
    let auth = Arc::new(common::caller::authenticator(&config.shared.identity)?);
    build_with(config, auth, peers).await
}

/// Assemble the blockchain service with the given verifier and peers (tests).
pub async fn build_with(
    config: &Config,
    auth: Arc<common::identity::Authenticator>,
    peers: Peers,
) -> anyhow::Result<Service> {
    config.validate()?;
    let shared = &config.shared;
    let settings = &config.service;
    let dir = shared.service_dir();
    let store = Store::open_sqlite(dir.join("blockchain.sqlite"))
        .context("opening the blockchain store")?;
    store.ensure_indexes(&payments::indexes()).await?;

    // The node: configured, or a local anvil with its state beside the store.
    let (rpc_url, node) = match &settings.chain.rpc_url {
        Some(url) => (url.clone(), None),
        None => {
            let bin = node::find_anvil(settings.chain.anvil_bin.as_deref())?;
            let node =
                LocalNode::start(&bin, &dir.join("anvil-state.json"), settings.chain.chain_id)
                    .await?;
            (node.url().clone(), Some(node))
        }
    };
    let key = settings
        .chain
        .signer_key()
        .context("chain.signer_key is required")?;
    let chain = Chain::new(rpc_url, &key, &settings.chain)?;
    chain.check().await.context("checking the chain node")?;
    let contracts = deploy::ensure(&chain, &store, settings).await?;

    let state = AppState {
        store: store.clone(),
        chain: chain.clone(),
        contracts,
        peers,
        auth: auth.clone(),
        publisher: Publisher::new(NAME),
        settings: Arc::new(settings.clone()),
        instance: Arc::from(format!(
            "{}-{}",
            std::process::id(),
            common::time::now().timestamp_micros()
        )),
    };
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(provenance::router())
        .merge(payments::router())
        .merge(wallet::router())
        .with_state(state.clone())
        .split_for_parts();
    let ping = store.clone();
    let reconciler = state.clone();
    let mut service = Service::new(NAME, router, openapi)
        .readiness(CheckFn::new("store", move || {
            let store = ping.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        }))
        .readiness(CheckFn::new("chain", move || {
            let chain = chain.clone();
            async move { chain.check().await.map_err(|e| e.to_string()) }
        }))
        .background("payment-reconciler", move |cancel| {
            payments::reconcile_loop(reconciler, cancel)
        });
    if let Some(node) = node {
        service = service.background("anvil", move |cancel| async move {
            cancel.cancelled().await;
            node.stop().await;
        });
    }
    let consumer = Arc::new(payments::PaymentConsumer { state });
    Ok(events::attach(service, &store, shared, auth, Some(consumer)).await?)
}
