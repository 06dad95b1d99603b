//! Sending transactions.
//!
//! A send is two steps so that callers can persist the signed transaction
//! before it leaves the process: [`Chain::sign`] simulates the call (gas
//! estimation reverts exactly as the transaction would), takes the next
//! nonce and signs, holding the send lock; [`Chain::broadcast`] hands the raw
//! bytes to the node and only then advances the nonce. A failed simulation
//! or a crash before broadcast therefore never leaves a nonce gap.

use std::time::Duration;

use alloy::consensus::TxEnvelope;
use alloy::eips::eip2718::Encodable2718 as _;
use alloy::network::{NetworkTransactionBuilder as _, TransactionBuilder as _};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use tokio::sync::OwnedMutexGuard;

use super::{Chain, ChainError, Mined};

/// Gas headroom over the estimate, in percent.
const GAS_HEADROOM_PERCENT: u64 = 20;

/// The next nonce this process will use, once known, and when it was
/// learnt. Trusted over the node's pending count only for a short while: a
/// transaction the node accepted and later dropped would otherwise leave a
/// gap that no later transaction could ever fill.
#[derive(Debug, Default)]
pub(super) struct NonceState {
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

impl Chain {
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
