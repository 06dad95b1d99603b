//! Reading and changing payment records: each change in a transaction
//! that first checks the record is still as its caller saw it.

use chrono::Utc;
use store::{StoreError, Versioned};

use super::{LEASE_SECS, Payment, PaymentState};
use crate::error::BlockchainError;
use crate::state::AppState;

/// The payment of `order_id`.
pub async fn load(state: &AppState, order_id: &str) -> Result<Versioned<Payment>, BlockchainError> {
    state
        .store
        .collection::<Payment>()
        .get(order_id)
        .await?
        .ok_or_else(|| BlockchainError::PaymentNotFound(order_id.to_owned()))
}

/// Applies `change` to the payment if it is still as `expect` says.
pub(super) async fn update(
    state: &AppState,
    order_id: &str,
    expect: impl Fn(&Payment) -> bool + Send + Sync,
    change: impl Fn(&mut Payment) + Send + Sync,
) -> Result<Option<Payment>, BlockchainError> {
    let out = state
        .store
        .transact(async |tx| {
            let Some(mut p) = tx.get::<Payment>(order_id).await? else {
                return Ok(None);
            };
            if !expect(&p.value) {
                return Ok(None);
            }
            change(&mut p.value);
            p.value.updated_at = Utc::now();
            tx.update(&p)?;
            Ok::<_, StoreError>(Some(p.value))
        })
        .await?;
    Ok(out)
}

/// The payment as `update` left it, or as it is now when `update` changed
/// nothing (someone else moved it on meanwhile).
pub(super) async fn updated_or_current(
    state: &AppState,
    order_id: &str,
    updated: Option<Payment>,
) -> Result<Payment, BlockchainError> {
    match updated {
        Some(p) => Ok(p),
        None => Ok(load(state, order_id).await?.value),
    }
}

/// Takes a queued payment for `owner` unless someone else holds it.
pub(super) async fn claim(
    state: &AppState,
    order_id: &str,
    owner: &str,
) -> Result<bool, BlockchainError> {
    let now = Utc::now();
    let claimed = update(
        state,
        order_id,
        |p| {
            matches!(p.state, PaymentState::Queued | PaymentState::AwaitingWallet)
                && !p.leased_to_other(owner)
                && p.not_before.is_none_or(|t| t <= now)
        },
        |p| {
            p.lease_owner = Some(owner.to_owned());
            p.lease_until = Some(Utc::now() + chrono::Duration::seconds(LEASE_SECS));
        },
    )
    .await?;
    Ok(claimed.is_some())
}

/// Gives up `owner`'s lease, if it still holds it.
pub(super) async fn release(
    state: &AppState,
    order_id: &str,
    owner: &str,
) -> Result<(), BlockchainError> {
    update(
        state,
        order_id,
        |p| p.lease_owner.as_deref() == Some(owner),
        Payment::release,
    )
    .await?;
    Ok(())
}
