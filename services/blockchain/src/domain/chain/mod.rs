//! The platform's link to the chain: a JSON-RPC provider with timeouts, the
//! platform's signer, reads, and sends serialised per signer (each signed,
//! for the caller to keep, before it is broadcast).

mod error;
mod send;

use std::sync::Arc;
use std::time::Duration;

use alloy::network::{Ethereum, EthereumWallet, TransactionBuilder as _};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{Provider as _, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{Filter, Log, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::Http;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Mutex;
use url::Url;

pub use error::ChainError;
pub use send::Signed;

use crate::config::ChainSettings;
use send::NonceState;

/// A mined transaction with enough confirmations.
#[derive(Debug, Clone)]
pub struct Mined {
    pub receipt: TransactionReceipt,
    pub block_number: u64,
}

impl Mined {
    pub fn succeeded(&self) -> bool {
        self.receipt.status()
    }

    pub fn logs(&self) -> &[Log] {
        self.receipt.inner.logs()
    }
}

/// The chain as the service uses it.
#[derive(Clone)]
pub struct Chain {
    provider: RootProvider<Ethereum>,
    wallet: EthereumWallet,
    address: Address,
    chain_id: u64,
    confirmations: u64,
    receipt_timeout: Duration,
    max_fee_per_gas: Option<u128>,
    sends: Arc<Mutex<NonceState>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("address", &self.address)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// A client of the node at `rpc_url`, signing with `key`.
    pub fn new(rpc_url: Url, key: &SecretString, settings: &ChainSettings) -> anyhow::Result<Self> {
        let signer: PrivateKeySigner = key
            .expose_secret()
            .parse()
            .map_err(|_| anyhow::anyhow!("chain.signer_key is not a valid private key"))?;
        let address = signer.address();
        let http = reqwest::Client::builder()
            .no_gzip()
            .timeout(Duration::from_millis(settings.rpc_timeout_ms))
            .connect_timeout(Duration::from_millis(settings.rpc_timeout_ms.min(3_000)))
            .build()?;
        let is_local = rpc_url
            .host_str()
            .is_some_and(|h| h == "127.0.0.1" || h == "localhost");
        let client = RpcClient::new(Http::with_client(http, rpc_url), is_local);
        Ok(Self {
            provider: RootProvider::new(client),
            wallet: EthereumWallet::from(signer),
            address,
            chain_id: settings.chain_id,
            confirmations: settings.confirmations.max(1),
            receipt_timeout: Duration::from_millis(settings.receipt_timeout_ms),
            max_fee_per_gas: settings.max_fee_per_gas_wei,
            sends: Arc::new(Mutex::new(NonceState::default())),
        })
    }

    /// The platform's address (the signer's).
    pub fn address(&self) -> Address {
        self.address
    }

    /// The node answers and is on the configured chain.
    pub async fn check(&self) -> Result<(), ChainError> {
        let id = self
            .provider
            .get_chain_id()
            .await
            .map_err(ChainError::from_rpc)?;
        if id != self.chain_id {
            return Err(ChainError::Unexpected(format!(
                "the node is on chain {id}, configured for {}",
                self.chain_id
            )));
        }
        Ok(())
    }

    /// Hash of block 0: tells one chain from another with the same id (a
    /// local chain started afresh).
    pub async fn genesis_hash(&self) -> Result<B256, ChainError> {
        let block = self
            .provider
            .get_block_by_number(0.into())
            .await
            .map_err(ChainError::from_rpc)?
            .ok_or_else(|| ChainError::Unexpected("no genesis block".to_owned()))?;
        Ok(block.header.hash)
    }

    pub async fn has_code(&self, address: Address) -> Result<bool, ChainError> {
        let code = self
            .provider
            .get_code_at(address)
            .await
            .map_err(ChainError::from_rpc)?;
        Ok(!code.is_empty())
    }

    pub async fn block_number(&self) -> Result<u64, ChainError> {
        self.provider
            .get_block_number()
            .await
            .map_err(ChainError::from_rpc)
    }

    pub async fn balance(&self, address: Address) -> Result<U256, ChainError> {
        self.provider
            .get_balance(address)
            .await
            .map_err(ChainError::from_rpc)
    }

    pub async fn logs(&self, filter: &Filter) -> Result<Vec<Log>, ChainError> {
        self.provider
            .get_logs(filter)
            .await
            .map_err(ChainError::from_rpc)
    }

    /// A read-only call: the returned bytes, or the revert.
    pub async fn call(&self, to: Address, input: Bytes) -> Result<Bytes, ChainError> {
        let tx = TransactionRequest::default()
            .with_from(self.address)
            .with_to(to)
            .with_input(input);
        self.provider.call(tx).await.map_err(ChainError::from_rpc)
    }

    /// A typed view call (`sol!` call struct in, its return out).
    pub async fn view<C: alloy::sol_types::SolCall>(
        &self,
        to: Address,
        call: C,
    ) -> Result<C::Return, ChainError> {
        let out = self.call(to, call.abi_encode().into()).await?;
        C::abi_decode_returns(&out).map_err(|e| ChainError::Unexpected(e.to_string()))
    }
}
