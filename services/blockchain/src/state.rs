//! The blockchain service's state.

use std::sync::Arc;

use alloy::primitives::Address;
use axum::extract::FromRef;
use common::identity::Authenticator;
use events::Publisher;
use store::Store;

use crate::config::Settings;
use crate::domain::chain::Chain;
use crate::domain::clients::{MediaApi, ProductApi, UserApi};

/// Where the platform's contracts are.
#[derive(Debug, Clone, Copy)]
pub struct Contracts {
    pub provenance: Address,
    pub fair_pay: Address,
    pub payment_token: Address,
}

/// The other services the blockchain service asks.
#[derive(Clone)]
pub struct Peers {
    pub products: Arc<dyn ProductApi>,
    pub media: Arc<dyn MediaApi>,
    pub users: Arc<dyn UserApi>,
}

/// Shared by every handler and background task.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub chain: Chain,
    pub contracts: Contracts,
    pub peers: Peers,
    pub auth: Arc<Authenticator>,
    pub publisher: Publisher,
    pub settings: Arc<Settings>,
    /// Tells this process's leases from other instances'.
    pub instance: Arc<str>,
    /// The node's URL, told to wallets on a development chain only.
    pub dev_rpc_url: Option<url::Url>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl AppState {
    /// Receives the cooperative's share.
    pub fn cooperative_wallet(&self) -> Address {
        self.settings
            .cooperative_wallet
            .map_or(crate::config::ANVIL_COOPERATIVE, |w| {
                Address::from(*w.as_bytes())
            })
    }

    /// Receives the platform's share.
    pub fn platform_wallet(&self) -> Address {
        self.settings
            .platform_wallet
            .map_or(crate::config::ANVIL_PLATFORM, |w| {
                Address::from(*w.as_bytes())
            })
    }
}
