//! Deposits into the escrow, seen on chain once they have the configured
//! confirmations: each one for an order the escrow was told to expect is
//! recorded and announced as `payment.received` (in one transaction, so a
//! deposit is announced once however often its block is read). The
//! product service judges it: a deposit of the order's total pays it; any
//! other is flagged there, and goes back to its depositor when the order is
//! cancelled or paid another way.

use std::time::Duration;

use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use chrono::Utc;
use events::v1::PaymentReceived;
use serde::{Deserialize, Serialize};
use store::{Entity, StoreError};
use tokio_util::sync::CancellationToken;

use super::{Cancelled, Deposit, Expected, Receipt, Source, hex_key, refund};
use crate::domain::contracts::FairPay;
use crate::error::BlockchainError;
use crate::state::AppState;

/// Blocks read per pass at most (well under RPC providers' log limits).
const MAX_SPAN: u64 = 500;

/// How far the watcher has read (one document).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WatchCursor {
    next_block: u64,
}

impl Entity for WatchCursor {
    const COLLECTION: &'static str = "escrow_watch";
}

const CURSOR: &str = "deposits";

/// Until cancelled, every reconcile interval: read confirmed deposits, then
/// make the escrow refunds owed.
pub async fn watch_deposits(state: AppState, cancel: CancellationToken) {
    let every = Duration::from_millis(state.settings.reconcile_interval_ms);
    loop {
        if let Err(e) = watch_once(&state).await {
            tracing::warn!(error = %e, "watching escrow deposits failed; trying again");
        }
        if let Err(e) = super::refund_escrowed(&state).await {
            tracing::warn!(error = %e, "escrow refunds failed; trying again");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One pass: deposits in confirmed blocks not read yet. How many were new.
pub async fn watch_once(state: &AppState) -> Result<usize, BlockchainError> {
    let head = state.chain.block_number().await?;
    let confirmed_to = (head + 1).saturating_sub(state.chain.confirmations());
    let cursors = state.store.collection::<WatchCursor>();
    let from = match cursors.get(CURSOR).await? {
        Some(c) => c.value.next_block,
        // A development chain is read from its start; a public one from
        // as far back as the history window reaches.
        None if state.settings.chain.is_dev() => 0,
        None => head.saturating_sub(state.settings.chain.history_blocks),
    };
    if from > confirmed_to {
        return Ok(0);
    }
    let to = confirmed_to.min(from + MAX_SPAN);
    let filter = Filter::new()
        .address(state.contracts.fair_pay)
        .event_signature(FairPay::Deposited::SIGNATURE_HASH)
        .from_block(from)
        .to_block(to);
    let mut new = 0;
    for log in state.chain.logs(&filter).await? {
        let Ok(event) = FairPay::Deposited::decode_log_data(log.data()) else {
            continue;
        };
        let payment_id = format!(
            "{:#x}:{}",
            log.transaction_hash.unwrap_or_default(),
            log.log_index.unwrap_or_default()
        );
        if record(state, &event, &payment_id, log.transaction_hash).await? {
            new += 1;
        }
    }
    cursors
        .set(CURSOR, &WatchCursor { next_block: to + 1 })
        .await?;
    Ok(new)
}

/// Records and announces one deposit; whether it was new.
async fn record(
    state: &AppState,
    event: &FairPay::Deposited,
    payment_id: &str,
    tx_hash: Option<alloy::primitives::B256>,
) -> Result<bool, BlockchainError> {
    let key = hex_key(event.orderId);
    let Some(expected) = state.store.collection::<Expected>().get(&key).await? else {
        // Nobody was told to pay this order this way: an admin settles it.
        tracing::warn!(
            order_key = key,
            payment_id,
            "a deposit for no expected order"
        );
        return Ok(false);
    };
    let order_id = expected.value.order_id;
    let ours = event.token == state.contracts.payment_token;
    let amount = i64::try_from(event.amount).unwrap_or(i64::MAX);
    let recorded = state
        .store
        .transact(async |tx| {
            if tx.get::<Deposit>(&order_id).await?.is_some() {
                return Ok::<_, StoreError>(false);
            }
            tx.create(
                &order_id,
                &Deposit {
                    payment_id: payment_id.to_owned(),
                    units: event.amount.to_string(),
                    token: event.token,
                    depositor: event.depositor,
                    seen_at: Utc::now(),
                },
            )?;
            // The order was cancelled or paid another way meanwhile: this
            // deposit can only go back.
            let settled_otherwise = tx.get::<Cancelled>(&order_id).await?.is_some()
                || tx
                    .get::<Receipt>(&order_id)
                    .await?
                    .is_some_and(|r| r.value.source == Source::Platform);
            if settled_otherwise {
                refund::queue(tx, &order_id).await?;
            }
            // Stated as the chain has it: another token is another currency.
            let stated_currency = if ours {
                state.settings.chain.payment_currency.clone()
            } else {
                format!("token:{}", event.token.to_checksum(None))
            };
            state.publisher.emit(
                tx,
                &order_id,
                &PaymentReceived {
                    order_id: order_id.clone(),
                    provider: "escrow".to_owned(),
                    payment_id: payment_id.to_owned(),
                    amount: Some(events::v1::Money {
                        amount,
                        currency: stated_currency,
                    }),
                    payer: event.depositor.to_checksum(None),
                    tx_hash: tx_hash.map(|h| format!("{h:#x}")).unwrap_or_default(),
                },
            )?;
            Ok(true)
        })
        .await?;
    if recorded {
        tracing::info!(order_id, payment_id, amount, "escrow deposit seen");
    }
    Ok(recorded)
}
