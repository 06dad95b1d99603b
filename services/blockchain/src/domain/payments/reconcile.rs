//! Moving payments on after the request that made them: a signed payment
//! is confirmed, re-sent, or signed again; a queued one is sent. A
//! background loop runs [`reconcile_once`] every `reconcile_interval_ms`.

use std::time::Duration;

use alloy::primitives::B256;
use store::{Direction, Query};

use super::confirm::{adopt_from_chain, confirm_if_paid};
use super::records::{claim, load, release, update, updated_or_current};
use super::signing::{read_paid, send_claimed};
use super::{MAX_ATTEMPTS, Payment, PaymentState};
use crate::domain::chain::ChainError;
use crate::domain::hashing::order_key;
use crate::error::BlockchainError;
use crate::state::AppState;

/// Moves a signed payment on: confirmed if mined; re-sent if not; signed
/// again only when its transaction can never be mined and the contract
/// says the order is unpaid.
pub(super) async fn reconcile_signed(
    state: &AppState,
    order_id: &str,
    wait: bool,
) -> Result<Payment, BlockchainError> {
    let p = load(state, order_id).await?.value;
    let (PaymentState::Signed, Some(hash)) = (p.state, p.tx_hash) else {
        return Ok(p);
    };
    let mined = if wait {
        match state.chain.wait_mined(hash).await {
            Ok(m) => Some(m),
            Err(ChainError::Pending(_)) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        state.chain.mined(hash).await?
    };
    if let Some(mined) = mined {
        if let Some(done) = confirm_if_paid(state, order_id, hash, &mined).await? {
            return Ok(done);
        }
        return retry_or_adopt(state, order_id, hash, "the payment transaction reverted").await;
    }
    let Some(raw) = p.raw_tx.clone() else {
        return Ok(p);
    };
    match state.chain.rebroadcast(&raw).await {
        Ok(()) => touch(state, order_id, hash).await,
        Err(err) if err.is_nonce_too_low() => {
            // Its nonce is used: either by this very transaction (mined
            // between our two questions, perhaps not yet confirmed enough)
            // or by another, and then this one can never be mined.
            if let Some(mined) = state.chain.mined(hash).await?
                && let Some(done) = confirm_if_paid(state, order_id, hash, &mined).await?
            {
                return Ok(done);
            }
            if state.chain.has_receipt(hash).await? {
                return touch(state, order_id, hash).await;
            }
            retry_or_adopt(
                state,
                order_id,
                hash,
                "its nonce was used by another transaction",
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

/// Still waiting for `hash`: moves the payment to the back of the
/// reconciler's queue, so that a few stuck payments never hide the others.
async fn touch(state: &AppState, order_id: &str, hash: B256) -> Result<Payment, BlockchainError> {
    let touched = update(
        state,
        order_id,
        |p| p.state == PaymentState::Signed && p.tx_hash == Some(hash),
        |_| {},
    )
    .await?;
    updated_or_current(state, order_id, touched).await
}

/// The signed transaction will never pay: adopt the payment the chain has
/// for this order, or queue it to be signed again (a bounded number of times).
async fn retry_or_adopt(
    state: &AppState,
    order_id: &str,
    hash: B256,
    why: &str,
) -> Result<Payment, BlockchainError> {
    if read_paid(state, order_key(order_id)).await? {
        return adopt_from_chain(state, order_id).await;
    }
    tracing::warn!(order_id, tx = %hash, why, "payment transaction will not pay; signing again");
    let why = why.to_owned();
    let next = update(
        state,
        order_id,
        |p| p.state == PaymentState::Signed && p.tx_hash == Some(hash),
        |p| {
            p.state = if p.attempts >= MAX_ATTEMPTS {
                PaymentState::Failed
            } else {
                PaymentState::Queued
            };
            p.tx_hash = None;
            p.raw_tx = None;
            p.nonce = None;
            p.last_error = Some(why.clone());
            p.release();
        },
    )
    .await?;
    updated_or_current(state, order_id, next).await
}

/// One round of reconciliation: signed payments are checked and re-sent,
/// queued ones (left by a crash, or from events) are sent.
pub async fn reconcile_once(state: &AppState) -> Result<(), BlockchainError> {
    let payments = state.store.collection::<Payment>();
    let owner = format!("{}-worker", state.instance);
    for s in [
        PaymentState::Signed,
        PaymentState::Queued,
        PaymentState::AwaitingWallet,
    ] {
        let query = Query::new()
            .eq("state", s.as_str())
            .order_by("updated_at", Direction::Asc)
            .limit(50);
        let (batch, _) = payments.query(&query).await?;
        for p in batch {
            let order_id = p.id.clone();
            let result = match s {
                PaymentState::Signed => reconcile_signed(state, &order_id, false).await.map(|_| ()),
                _ if claim(state, &order_id, &owner).await? => {
                    send_or_release(state, &order_id, &owner).await
                }
                _ => Ok(()),
            };
            if let Err(err) = result {
                tracing::warn!(order_id, error = %err, "reconciling a payment failed; will retry");
                // The chain (or a peer) is down: the rest would fail alike.
                if err.is_unavailable() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Sends a payment `owner` claimed; gives the claim up again when
/// sending fails.
async fn send_or_release(
    state: &AppState,
    order_id: &str,
    owner: &str,
) -> Result<(), BlockchainError> {
    let sent = send_claimed(state, order_id, owner).await.map(|_| ());
    if sent.is_err() {
        let _ = release(state, order_id, owner).await;
    }
    sent
}

/// The reconciliation loop, until `cancel`.
pub async fn reconcile_loop(state: AppState, cancel: tokio_util::sync::CancellationToken) {
    let every = Duration::from_millis(state.settings.reconcile_interval_ms);
    loop {
        if let Err(err) = reconcile_once(&state).await {
            tracing::warn!(error = %err, "payment reconciliation round failed");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
