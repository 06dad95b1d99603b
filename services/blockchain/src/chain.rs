//! The platform's link to the chain: a JSON-RPC provider with timeouts, the
//! platform's signer, and sends serialised per signer.
//!
//! A send is two steps so that callers can persist the signed transaction
//! before it leaves the process: [`Chain::sign`] simulates the call (gas
//! estimation reverts exactly as the transaction would), takes the next
//! nonce and signs, holding the send lock; [`Chain::broadcast`] hands the raw
//! bytes to the node and only then advances the nonce. A failed simulation
//! or a crash before broadcast therefore never leaves a nonce gap.

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::TxEnvelope;
use alloy::eips::eip2718::Encodable2718 as _;
use alloy::network::{
    Ethereum, EthereumWallet, NetworkTransactionBuilder as _, TransactionBuilder as _,
};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{Provider as _, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{Filter, Log, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::Http;
use alloy::transports::{RpcError, TransportErrorKind};
use common::ApiError;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::{Mutex, OwnedMutexGuard};
use url::Url;

use crate::config::ChainSettings;

/// Gas headroom over the estimate, in percent.
const GAS_HEADROOM_PERCENT: u64 = 20;

/// What can go wrong on the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node cannot be reached or did not answer in time.
    #[error("the chain node is unavailable: {0}")]
    Unavailable(String),
    /// The call reverts; the revert data, if the node returned it.
    #[error("the contract call reverts")]
    Reverted(Option<Bytes>),
    /// The node refused the transaction for another reason.
    #[error("the node refused the request: {0}")]
    Rejected(String),
    /// The fee estimate is above the configured cap.
    #[error("the fee estimate {0} wei exceeds the configured cap")]
    FeeCap(u128),
    /// No receipt with enough confirmations within the timeout.
    #[error("no receipt for {0} yet")]
    Pending(B256),
    /// The node answered something that makes no sense (wrong chain, bad data).
    #[error("unexpected answer from the chain: {0}")]
    Unexpected(String),
}

impl ChainError {
    fn from_rpc(err: RpcError<TransportErrorKind>) -> Self {
        match err {
            RpcError::ErrorResp(payload) => match payload.as_revert_data() {
                Some(data) => Self::Reverted(Some(data)),
                None if payload.message.contains("revert") => Self::Reverted(None),
                None => Self::Rejected(payload.message.to_string()),
            },
            RpcError::Transport(kind) => Self::Unavailable(kind.to_string()),
            other => Self::Unavailable(other.to_string()),
        }
    }

    /// True for "nonce too low": another transaction took this nonce.
    pub fn is_nonce_too_low(&self) -> bool {
        matches!(self, Self::Rejected(m) if m.to_ascii_lowercase().contains("nonce too low"))
    }

    /// True when the node already has this exact transaction.
    pub fn is_already_known(&self) -> bool {
        matches!(self, Self::Rejected(m) if {
            let m = m.to_ascii_lowercase();
            m.contains("already known") || m.contains("already imported") || m.contains("known transaction")
        })
    }
}

impl From<ChainError> for ApiError {
    fn from(err: ChainError) -> Self {
        match err {
            ChainError::Unavailable(_) | ChainError::Pending(_) => ApiError::unavailable(
                Duration::from_secs(5),
                "the chain node is not answering; try again shortly",
            )
            .with_source(anyhow::Error::new(err)),
            ChainError::FeeCap(_) => ApiError::unavailable(
                Duration::from_secs(60),
                "network fees are above the platform's cap; try again later",
            )
            .with_source(anyhow::Error::new(err)),
            ChainError::Reverted(_) => {
                ApiError::conflict("chain-reverted", "the contract refused the transaction")
            }
            // The node refused (out of gas funds, a provider's limits):
            // a dependency's refusal, not the client's fault.
            ChainError::Rejected(_) => ApiError::unavailable(
                Duration::from_secs(30),
                "the chain node refused the request; try again later",
            )
            .with_source(anyhow::Error::new(err)),
            ChainError::Unexpected(_) => ApiError::internal(err),
        }
    }
}

/// The next nonce this process will use, once known, and when it was
/// learnt. Trusted over the node's pending count only for a short while: a
/// transaction the node accepted and later dropped would otherwise leave a
/// gap that no later transaction could ever fill.
#[derive(Debug, Default)]
pub struct NonceState {
    next: Option<(u64, tokio::time::Instant)>,
}

/// How long the locally counted nonce outranks the node's pending count.
const NONCE_TRUST: Duration = Duration::from_secs(30);

/// A signed transaction not yet broadcast. Holds the send lock: no other
/// transaction of this signer is signed until it is broadcast or dropped.
pub struct Signed {
    pub raw: Bytes,
    pub hash: B256,
    pub nonce: u64,
    guard: OwnedMutexGuard<NonceState>,
}

impl std::fmt::Debug for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("hash", &self.hash)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

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

    /// Simulates and signs a call (`to = Some`) or a deployment (`to = None`)
    /// with the next nonce. The send lock is held until the result is
    /// broadcast or dropped.
    pub async fn sign(
        &self,
        to: Option<Address>,
        input: Bytes,
        value: U256,
    ) -> Result<Signed, ChainError> {
        let guard = self.sends.clone().lock_owned().await;
        let kind = to.map_or(TxKind::Create, TxKind::Call);
        let request = TransactionRequest::default()
            .with_from(self.address)
            .with_kind(kind)
            .with_input(input)
            .with_value(value);
        // Gas estimation executes the call: a revert surfaces here, before
        // any nonce is taken.
        let gas = self
            .provider
            .estimate_gas(request.clone())
            .await
            .map_err(ChainError::from_rpc)?;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(ChainError::from_rpc)?;
        if let Some(cap) = self.max_fee_per_gas
            && fees.max_fee_per_gas > cap
        {
            return Err(ChainError::FeeCap(fees.max_fee_per_gas));
        }
        let pending = self
            .provider
            .get_transaction_count(self.address)
            .pending()
            .await
            .map_err(ChainError::from_rpc)?;
        let nonce = match guard.next {
            Some((next, at)) if at.elapsed() < NONCE_TRUST => next.max(pending),
            _ => pending,
        };
        let request = request
            .with_chain_id(self.chain_id)
            .with_nonce(nonce)
            .with_gas_limit(gas + gas * GAS_HEADROOM_PERCENT / 100)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let envelope: TxEnvelope = request
            .build(&self.wallet)
            .await
            .map_err(|e| ChainError::Unexpected(format!("cannot sign: {e}")))?;
        Ok(Signed {
            raw: Bytes::from(envelope.encoded_2718()),
            hash: *envelope.tx_hash(),
            nonce,
            guard,
        })
    }

    /// Hands a signed transaction to the node; the nonce advances once the
    /// node has it. Releases the send lock.
    pub async fn broadcast(&self, signed: Signed) -> Result<B256, ChainError> {
        let Signed {
            raw,
            hash,
            nonce,
            mut guard,
        } = signed;
        match self.send_raw(&raw).await {
            Ok(()) => {
                guard.next = Some((nonce + 1, tokio::time::Instant::now()));
                Ok(hash)
            }
            Err(err) => {
                // The node may or may not have it; ask again next time.
                guard.next = None;
                Err(err)
            }
        }
    }

    /// Sends raw bytes again (recovery after a crash). "Already known" is
    /// success; "nonce too low" means this or another transaction with the
    /// nonce was mined: the caller looks at receipts and the contract.
    pub async fn rebroadcast(&self, raw: &Bytes) -> Result<(), ChainError> {
        match self.send_raw(raw).await {
            Err(err) if err.is_already_known() => Ok(()),
            other => other,
        }
    }

    async fn send_raw(&self, raw: &Bytes) -> Result<(), ChainError> {
        self.provider
            .send_raw_transaction(raw)
            .await
            .map(|_| ())
            .map_err(ChainError::from_rpc)
    }

    /// The receipt of `hash` if mined with enough confirmations.
    pub async fn mined(&self, hash: B256) -> Result<Option<Mined>, ChainError> {
        let Some(receipt) = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(ChainError::from_rpc)?
        else {
            return Ok(None);
        };
        let Some(block_number) = receipt.block_number else {
            return Ok(None);
        };
        if self.confirmations > 1 {
            let head = self.block_number().await?;
            if head.saturating_sub(block_number) + 1 < self.confirmations {
                return Ok(None);
            }
        }
        Ok(Some(Mined {
            receipt,
            block_number,
        }))
    }

    /// Whether `hash` has a receipt at all (mined, however recently).
    pub async fn has_receipt(&self, hash: B256) -> Result<bool, ChainError> {
        Ok(self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(ChainError::from_rpc)?
            .is_some())
    }

    /// Blocks a transaction needs on top of it (itself included).
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// Polls for the receipt of `hash` up to the receipt timeout.
    pub async fn wait_mined(&self, hash: B256) -> Result<Mined, ChainError> {
        let deadline = tokio::time::Instant::now() + self.receipt_timeout;
        let mut pause = Duration::from_millis(25);
        loop {
            if let Some(mined) = self.mined(hash).await? {
                return Ok(mined);
            }
            if tokio::time::Instant::now() + pause > deadline {
                return Err(ChainError::Pending(hash));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Signs, broadcasts and waits: for transactions whose signed form need
    /// not be kept (deployments, approvals).
    pub async fn transact(&self, to: Option<Address>, input: Bytes) -> Result<Mined, ChainError> {
        let signed = self.sign(to, input, U256::ZERO).await?;
        let hash = self.broadcast(signed).await?;
        let mined = self.wait_mined(hash).await?;
        if !mined.succeeded() {
            return Err(ChainError::Reverted(None));
        }
        Ok(mined)
    }
}
