//! Recording a paid order: from its own transaction's receipt, or adopted
//! from what the chain has for the order; `payment.executed` published
//! once, in the same transaction as the record.

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent as _;
use common::money::Money;
use events::v1::PaymentExecuted;
use store::{StoreError, Txn};

use super::records::load;
use super::signing::units;
use super::{Payment, PaymentState, Shares};
use crate::domain::chain::Mined;
use crate::domain::contracts::FairPay;
use crate::domain::hashing::order_key;
use crate::error::BlockchainError;
use crate::state::AppState;

/// Confirms the payment if `mined` (its transaction `hash`) paid it: it
/// succeeded and carries FairPay's PaymentExecuted. `None` otherwise.
pub(super) async fn confirm_if_paid(
    state: &AppState,
    order_id: &str,
    hash: B256,
    mined: &Mined,
) -> Result<Option<Payment>, BlockchainError> {
    if !mined.succeeded() {
        return Ok(None);
    }
    let Some(event) = executed_event(mined.logs(), state.contracts.fair_pay) else {
        return Ok(None);
    };
    let parts = shares_of(&event);
    confirm(
        state,
        order_id,
        Some(hash),
        Some(mined.block_number),
        &parts,
    )
    .await
    .map(Some)
}

/// The artisan's, cooperative's and platform's amounts of an event.
fn shares_of(event: &FairPay::PaymentExecuted) -> [U256; 3] {
    [
        event.artisanAmount,
        event.cooperativeAmount,
        event.platformAmount,
    ]
}

/// Records the payment the chain has for this order: from its event when
/// it is within the history window and confirmed enough (else the payment
/// stays as it is, to be looked at again), or, for an event older than the
/// window, from the contract's own split arithmetic without a transaction hash.
pub(super) async fn adopt_from_chain(
    state: &AppState,
    order_id: &str,
) -> Result<Payment, BlockchainError> {
    let head = state.chain.block_number().await?;
    let from = head.saturating_sub(state.settings.chain.history_blocks);
    let filter = Filter::new()
        .address(state.contracts.fair_pay)
        .event_signature(FairPay::PaymentExecuted::SIGNATURE_HASH)
        .topic1(order_key(order_id))
        .from_block(from)
        .to_block(head);
    let logs = state.chain.logs(&filter).await?;
    let confirmed_up_to = (head + 1).saturating_sub(state.chain.confirmations());
    if let Some(log) = logs.first() {
        let block = log.block_number.unwrap_or_default();
        if block > confirmed_up_to {
            return Ok(load(state, order_id).await?.value);
        }
        let event = FairPay::PaymentExecuted::decode_log_data(log.data())
            .map_err(|e| anyhow::anyhow!("undecodable PaymentExecuted: {e}"))?;
        return confirm(
            state,
            order_id,
            log.transaction_hash,
            Some(block),
            &shares_of(&event),
        )
        .await;
    }
    let p = load(state, order_id).await?.value;
    let t = &p.terms;
    let split = FairPay::Split {
        artisan: t.artisan.unwrap_or(t.platform),
        cooperative: t.cooperative,
        platform: t.platform,
        artisanBps: t.artisan_bps,
        cooperativeBps: t.cooperative_bps,
        platformBps: t.platform_bps,
    };
    let parts = state
        .chain
        .view(
            state.contracts.fair_pay,
            FairPay::computeSplitCall {
                amount: units(t.amount),
                split,
            },
        )
        .await?;
    tracing::warn!(
        order_id,
        "paid on chain before the history window; recorded without its transaction"
    );
    confirm(
        state,
        order_id,
        None,
        None,
        &[
            parts.artisanAmount,
            parts.cooperativeAmount,
            parts.platformAmount,
        ],
    )
    .await
}

fn executed_event(logs: &[Log], contract: Address) -> Option<FairPay::PaymentExecuted> {
    logs.iter()
        .filter(|l| l.address() == contract)
        .find_map(|l| FairPay::PaymentExecuted::decode_log_data(l.data()).ok())
}

/// Confirmed: record the shares and publish `payment.executed`, once.
async fn confirm(
    state: &AppState,
    order_id: &str,
    hash: Option<B256>,
    block: Option<u64>,
    parts: &[U256; 3],
) -> Result<Payment, BlockchainError> {
    let out = state
        .store
        .transact(async |tx| {
            let Some(mut p) = tx.get::<Payment>(order_id).await? else {
                return Ok(None);
            };
            if p.value.state == PaymentState::Confirmed {
                return Ok(Some(p.value));
            }
            let currency = p.value.terms.amount.currency;
            let money = |v: U256| Money::new(i64::try_from(v).unwrap_or(i64::MAX), currency);
            let shares = Shares {
                artisan: money(parts[0]),
                cooperative: money(parts[1]),
                platform: money(parts[2]),
            };
            p.value.state = PaymentState::Confirmed;
            p.value.tx_hash = hash;
            p.value.raw_tx = None;
            p.value.block_number = block;
            p.value.shares = Some(shares.clone());
            p.value.last_error = None;
            p.value.release();
            tx.update(&p)?;
            emit_executed(state, tx, order_id, &p.value, hash, &shares)?;
            Ok::<_, StoreError>(Some(p.value))
        })
        .await?;
    let p = out.ok_or_else(|| BlockchainError::PaymentNotFound(order_id.to_owned()))?;
    tracing::info!(order_id, tx = ?hash, block, "payment confirmed");
    Ok(p)
}

fn emit_executed(
    state: &AppState,
    tx: &mut Txn,
    order_id: &str,
    p: &Payment,
    hash: Option<B256>,
    shares: &Shares,
) -> Result<(), StoreError> {
    state.publisher.emit(
        tx,
        order_id,
        &PaymentExecuted {
            order_id: order_id.to_owned(),
            tx_hash: hash.map(|h| h.to_string()).unwrap_or_default(),
            amount: Some(p.terms.amount.into()),
            artisan_share: Some(shares.artisan.into()),
            cooperative_share: Some(shares.cooperative.into()),
            platform_share: Some(shares.platform.into()),
        },
    )?;
    Ok(())
}
