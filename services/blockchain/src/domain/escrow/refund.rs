//! A deposit that does not become its order's payment goes back to its
//! depositor: the order was cancelled, or paid another way. The refund is
//! queued with the event that says so and made by the watcher's loop: the contract
//! refunds a deposit at most once (a second call reverts), and what the
//! chain says is settled is read before anything is sent, so a crash
//! between sending and recording never refunds twice; `payment.refunded`
//! is published with the record that it happened.

use alloy::primitives::B256;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall as _, SolEvent as _};
use chrono::{DateTime, Utc};
use common::money::{Currency, Money};
use events::v1::PaymentRefunded;
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, Query, StoreError, Txn};

use super::{Cancelled, Expected, Receipt, hex_key};
use crate::domain::contracts::FairPay;
use crate::domain::hashing::order_key;
use crate::error::BlockchainError;
use crate::state::AppState;

/// Refunds looked at per pass.
const BATCH: usize = 20;

/// Where an escrow refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// To be made (once the deposit is on chain).
    Queued,
    /// Back with the depositor.
    Done,
    /// The deposit was released instead: nothing to give back.
    Released,
}

/// An order's escrow refund (keyed by the order's id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EscrowRefund {
    pub state: RefundState,
    pub tx_hash: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for EscrowRefund {
    const COLLECTION: &'static str = "escrow_refunds";
}

/// `order.cancelled`: nothing of the order is paid out any more, and an
/// escrow deposit for it (made or still to come) is to be given back.
pub async fn queue_refund(tx: &mut Txn, order_id: &str) -> Result<(), StoreError> {
    if let Some(mut r) = tx.get::<Receipt>(order_id).await? {
        r.value.cancelled = true;
        tx.update(&r)?;
    }
    if tx.get::<Cancelled>(order_id).await?.is_none() {
        tx.create(order_id, &Cancelled { at: Utc::now() })?;
    }
    queue_deposit_refund(tx, order_id).await
}

/// An escrow deposit for `order_id`, made or still to come, is to be given
/// back (the order will not be paid by it); nothing if the escrow was never
/// told to expect one.
pub async fn queue_deposit_refund(tx: &mut Txn, order_id: &str) -> Result<(), StoreError> {
    if tx
        .get::<Expected>(&hex_key(order_key(order_id)))
        .await?
        .is_some()
    {
        queue(tx, order_id).await?;
    }
    Ok(())
}

/// Owe `order_id`'s deposit (made or still to come) back to its depositor.
pub(super) async fn queue(tx: &mut Txn, order_id: &str) -> Result<(), StoreError> {
    if tx.get::<EscrowRefund>(order_id).await?.is_none() {
        tx.create(
            order_id,
            &EscrowRefund {
                state: RefundState::Queued,
                tx_hash: None,
                updated_at: Utc::now(),
            },
        )?;
    }
    Ok(())
}

/// One pass over the queued refunds, those looked at longest ago first;
/// how many were made. One that cannot be made now (no deposit yet, the
/// node refusing) goes to the back of the queue.
pub async fn refund_escrowed(state: &AppState) -> Result<usize, BlockchainError> {
    let queued = Query::new()
        .eq("state", "queued")
        .order_by("updated_at", Direction::Asc)
        .limit(BATCH);
    let refunds = state.store.collection::<EscrowRefund>();
    let (due, _) = refunds.query(&queued).await?;
    let mut made = 0;
    for refund in due {
        match refund_one(state, &refund.id).await {
            Ok(true) => made += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(order_id = refund.id, error = %e, "escrow refund to be tried again");
            }
        }
        // Still queued: to the back of the queue.
        if let Ok(Some(mut current)) = refunds.get(&refund.id).await
            && current.value.state == RefundState::Queued
        {
            current.value.updated_at = Utc::now();
            let _ = refunds
                .update(&current.id, &current.value, current.version)
                .await;
        }
    }
    Ok(made)
}

async fn refund_one(state: &AppState, order_id: &str) -> Result<bool, BlockchainError> {
    let key = order_key(order_id);
    let fair_pay = state.contracts.fair_pay;
    let deposit = state
        .chain
        .view(fair_pay, FairPay::depositsCall { orderId: key })
        .await?;
    if deposit.amount.is_zero() {
        // Not deposited (yet): a deposit arriving later is refunded then.
        return Ok(false);
    }
    let tx_hash = if deposit.settled {
        if state
            .chain
            .view(fair_pay, FairPay::paidCall { orderId: key })
            .await?
        {
            finish(state, order_id, RefundState::Released, None, None).await?;
            return Ok(false);
        }
        // Refunded already (by a pass that did not live to record it).
        refunded_in(state, key).await?
    } else {
        let call = FairPay::refundCall { orderId: key };
        let mined = state
            .chain
            .transact(Some(fair_pay), call.abi_encode().into())
            .await?;
        if !mined.succeeded() {
            return Err(anyhow::anyhow!("the escrow refund of {order_id} reverted").into());
        }
        Some(mined.receipt.transaction_hash)
    };
    // Stated in the currency only for the payment token's units.
    let currency: Option<Currency> = (deposit.token == state.contracts.payment_token)
        .then(|| state.settings.chain.payment_currency.parse().ok())
        .flatten();
    let amount = currency.map(|c| Money::new(i64::try_from(deposit.amount).unwrap_or(i64::MAX), c));
    finish(state, order_id, RefundState::Done, tx_hash, amount).await?;
    tracing::info!(order_id, ?tx_hash, "escrow refunded to its depositor");
    Ok(true)
}

/// The transaction that refunded `key`'s deposit, within the history window.
async fn refunded_in(state: &AppState, key: B256) -> Result<Option<B256>, BlockchainError> {
    let head = state.chain.block_number().await?;
    let filter = Filter::new()
        .address(state.contracts.fair_pay)
        .event_signature(FairPay::Refunded::SIGNATURE_HASH)
        .topic1(key)
        .from_block(head.saturating_sub(state.settings.chain.history_blocks))
        .to_block(head);
    Ok(state
        .chain
        .logs(&filter)
        .await?
        .first()
        .and_then(|l| l.transaction_hash))
}

/// Records how the refund ended, and announces a refund made, once.
async fn finish(
    state: &AppState,
    order_id: &str,
    to: RefundState,
    tx_hash: Option<B256>,
    amount: Option<Money>,
) -> Result<(), BlockchainError> {
    let hash = tx_hash.map(|h| format!("{h:#x}"));
    state
        .store
        .transact(async |tx| {
            let Some(mut r) = tx.get::<EscrowRefund>(order_id).await? else {
                return Ok(());
            };
            if r.value.state != RefundState::Queued {
                return Ok(());
            }
            r.value.state = to;
            r.value.tx_hash = hash.clone();
            r.value.updated_at = Utc::now();
            tx.update(&r)?;
            if to == RefundState::Done {
                state.publisher.emit(
                    tx,
                    order_id,
                    &PaymentRefunded {
                        order_id: order_id.to_owned(),
                        provider: "escrow".to_owned(),
                        refund_id: hash.clone().unwrap_or_default(),
                        amount: amount.map(Into::into),
                        tx_hash: hash.clone().unwrap_or_default(),
                    },
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(())
}
