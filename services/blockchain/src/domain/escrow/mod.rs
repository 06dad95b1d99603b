//! Receipts: what was received for each order, the only amounts ever paid
//! out. The product service judges every payment and says so in
//! `order.paid`: money a provider collected (paid from the platform's
//! balance), or a buyer's deposit into the fair-pay contract's escrow
//! (released). Deposits are seen here, on chain, with their confirmations,
//! and announced as `payment.received` for the product service to judge;
//! a deposit that does not become the order's payment (the order was
//! cancelled, or paid another way) goes back to its depositor, once
//! (`payment.refunded`).

mod refund;
mod watch;

use alloy::primitives::{Address, B256};
use chrono::{DateTime, Utc};
use common::money::Money;
use serde::{Deserialize, Serialize};
use store::{Entity, StoreError};
use utoipa::ToSchema;

pub use refund::{
    EscrowRefund, RefundState as EscrowRefundState, queue_deposit_refund, queue_refund,
    refund_escrowed,
};
pub use watch::{watch_deposits, watch_once};

use crate::domain::hashing::order_key;
use crate::error::BlockchainError;
use crate::state::AppState;

/// Where an order's money came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Collected off chain by a provider (or recorded by an admin): the
    /// platform pays the split from its own balance.
    Platform,
    /// Deposited into the escrow: the split is the deposit, released.
    Escrow,
}

/// A deposit seen on chain (keyed by the order's id: the contract takes
/// one per order).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deposit {
    /// `<tx hash>:<log index>`.
    pub payment_id: String,
    /// In the token's smallest units.
    pub units: String,
    pub token: Address,
    pub depositor: Address,
    pub seen_at: DateTime<Utc>,
}

impl Entity for Deposit {
    const COLLECTION: &'static str = "escrow_deposits";
}

/// What was received for an order (keyed by the order's id), as the
/// product service accepted it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    pub source: Source,
    /// The provider that confirmed it (`escrow` for a deposit).
    pub provider: String,
    pub payment_id: String,
    pub amount: Money,
    /// The order was cancelled: nothing is paid out.
    pub cancelled: bool,
    pub recorded_at: DateTime<Utc>,
}

impl Entity for Receipt {
    const COLLECTION: &'static str = "receipts";
}

/// An order cancelled (keyed by its id): whatever arrives for it later
/// (events are not ordered) pays nothing out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cancelled {
    pub at: DateTime<Utc>,
}

impl Entity for Cancelled {
    const COLLECTION: &'static str = "cancelled_orders";
}

/// A deposit the escrow is told to expect (keyed by the order's key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expected {
    pub order_id: String,
    pub amount: Money,
    pub created_at: DateTime<Utc>,
}

impl Entity for Expected {
    const COLLECTION: &'static str = "escrow_expected";
}

/// What a wallet needs to deposit an order's amount into escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscrowTerms {
    pub order_id: String,
    pub chain_id: u64,
    /// The fair-pay contract (EIP-55).
    pub contract: String,
    /// The payment token to approve and deposit (EIP-55).
    pub token: String,
    /// The order's key in the contract: keccak256 of its id.
    pub order_key: String,
    pub amount: Money,
    /// The same in the token's smallest units (a decimal string).
    pub token_amount: String,
    /// Where the chain is, on a local development chain (a production
    /// wallet uses its own node).
    pub rpc_url: Option<String>,
}

/// Expect a deposit of `amount` for `order_id` (the same again answers the
/// same terms; another amount for the same order is refused).
pub async fn expect(
    state: &AppState,
    order_id: &str,
    amount: Money,
) -> Result<EscrowTerms, BlockchainError> {
    if amount.currency.code() != state.settings.chain.payment_currency || amount.amount <= 0 {
        return Err(BlockchainError::invalid(
            "amount",
            "unsupported",
            "escrow takes a positive amount in the payment token's currency",
        ));
    }
    let key = order_key(order_id);
    let key_id = hex_key(key);
    let expected = Expected {
        order_id: order_id.to_owned(),
        amount,
        created_at: Utc::now(),
    };
    let stored = state
        .store
        .transact(async |tx| match tx.get::<Expected>(&key_id).await? {
            Some(e) => Ok::<_, StoreError>(e.value),
            None => {
                tx.create(&key_id, &expected)?;
                Ok(expected.clone())
            }
        })
        .await?;
    if stored.amount != amount {
        return Err(BlockchainError::EscrowTermsChanged);
    }
    Ok(terms(state, order_id, key, amount))
}

fn terms(state: &AppState, order_id: &str, key: B256, amount: Money) -> EscrowTerms {
    EscrowTerms {
        order_id: order_id.to_owned(),
        chain_id: state.settings.chain.chain_id,
        contract: checksummed(state.contracts.fair_pay),
        token: checksummed(state.contracts.payment_token),
        order_key: hex_key(key),
        amount,
        token_amount: crate::domain::payments::units(amount).to_string(),
        rpc_url: state.dev_rpc_url.as_ref().map(ToString::to_string),
    }
}

/// `0x`-hex of an order key (the expectations' document ids).
pub fn hex_key(key: B256) -> String {
    format!("{key:#x}")
}

fn checksummed(a: Address) -> String {
    a.to_checksum(None)
}

/// The receipt of `order_id`, if money was received for it.
pub async fn receipt(state: &AppState, order_id: &str) -> Result<Option<Receipt>, StoreError> {
    Ok(state
        .store
        .collection::<Receipt>()
        .get(order_id)
        .await?
        .map(|r| r.value))
}
