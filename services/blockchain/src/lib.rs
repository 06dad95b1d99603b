//! The blockchain service (port 8005, `/blockchain` at the gateway):
//! provenance NFTs whose product hash the service computes and re-checks,
//! and fair-pay splits paid exactly once per order.

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use std::sync::Arc;

use anyhow::Context as _;
use common::Service;
use common::client::ServiceClient;
use common::identity::Authenticator;
use common::serve::CheckFn;
use events::ServiceBase;

pub use config::Settings;
pub use error::BlockchainError;

use crate::domain::chain::Chain;
use crate::domain::clients::{
    HttpMediaApi, HttpProductApi, HttpUserApi, MediaApi, ProductApi, UserApi,
};
use crate::domain::payments::{self, PaymentConsumer};
use crate::domain::{deploy, node};
use crate::state::{AppState, Peers};

/// The blockchain service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::BLOCKCHAIN;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// What the service is built with besides its configuration: the token
/// verifier and the peers it asks.
pub struct Deps {
    pub auth: Arc<Authenticator>,
    pub products: Arc<dyn ProductApi>,
    pub media: Arc<dyn MediaApi>,
    pub users: Arc<dyn UserApi>,
}

/// Every index its queries need (the SQLite twins of the Firestore
/// composite indexes in `deploy/firestore.indexes.json`).
pub fn indexes() -> Vec<store::IndexSpec> {
    payments::indexes()
}

/// Assemble the blockchain service with its real peers.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let tokens = common::tokens::from_config(&config.shared);
    let s = &config.service;
    let client = |name, url: &url::Url| ServiceClient::new(name, url.clone(), tokens.clone());
    let deps = Deps {
        auth: Arc::new(common::caller::authenticator(&config.shared.identity)?),
        products: Arc::new(HttpProductApi(client("product", &s.product_url))),
        media: Arc::new(HttpMediaApi(client("media", &s.media_url))),
        users: Arc::new(HttpUserApi(client("auth", &s.auth_url))),
    };
    build_with(config, deps).await
}

/// Assemble the blockchain service with the given verifier and peers.
pub async fn build_with(config: &Config, deps: Deps) -> anyhow::Result<Service> {
    config.validate()?;
    let settings = &config.service;
    let base = ServiceBase::open(&config.shared, &indexes()).await?;

    // The node: configured, or a local anvil with its state beside the store.
    let (rpc_url, local_node) =
        node::connect(&config.shared.service_dir(), &settings.chain).await?;
    let key = settings
        .chain
        .signer_key()
        .context("chain.signer_key is required")?;
    let chain = Chain::new(rpc_url.clone(), &key, &settings.chain)?;
    chain.check().await.context("checking the chain node")?;
    let contracts = deploy::ensure(&chain, base.store(), settings).await?;

    let state = AppState {
        store: base.store().clone(),
        chain: chain.clone(),
        contracts,
        peers: Peers {
            products: deps.products,
            media: deps.media,
            users: deps.users,
        },
        auth: deps.auth.clone(),
        publisher: base.publisher(),
        settings: Arc::new(settings.clone()),
        dev_rpc_url: settings.chain.is_dev().then(|| rpc_url.clone()),
        instance: Arc::from(format!(
            "{}-{}",
            std::process::id(),
            common::time::now().timestamp_micros()
        )),
    };
    let consumer = Arc::new(PaymentConsumer {
        state: state.clone(),
    });
    let reconciler = state.clone();
    let escrow_state = state.clone();
    let mut service = base
        .finish(routes::api(state), deps.auth, Some(consumer))
        .await?
        .readiness(CheckFn::new("chain", move || {
            let chain = chain.clone();
            async move { chain.check().await.map_err(|e| e.to_string()) }
        }))
        .background("escrow", move |cancel| {
            domain::escrow::watch_deposits(escrow_state, cancel)
        })
        .background("payment-reconciler", move |cancel| {
            payments::reconcile_loop(reconciler, cancel)
        });
    if let Some(node) = local_node {
        service = service.background("anvil", move |cancel| async move {
            cancel.cancelled().await;
            node.stop().await;
        });
    }
    Ok(service)
}
