//! A payment asked for over the API. The order id is the idempotency key:
//! one record per order, created in a transaction; the same request again
//! answers the payment there is, other terms are refused.

use common::Id;
use store::StoreError;

use super::signing::send_claimed;
use super::{Payment, PaymentState, Terms};
use crate::error::BlockchainError;
use crate::state::AppState;

/// How a request to pay an order ends.
#[derive(Debug)]
pub enum Execution {
    /// Paid by this request.
    Paid(Payment),
    /// The order was already paid with these terms.
    AlreadyPaid(Payment),
    /// Being paid: by a concurrent duplicate, or its receipt is on its way.
    Pending(Payment),
}

/// Pays `order_id` with `terms`, once: exactly what was received for the
/// order (released from its escrow, or from the platform's balance for
/// money collected off chain), and nothing for an order with no receipt.
pub async fn execute(
    state: &AppState,
    order_id: &Id,
    mut terms: Terms,
) -> Result<Execution, BlockchainError> {
    // A payment there is answers for itself (the same terms, or a conflict).
    if let Some(p) = state.store.collection::<Payment>().get(order_id).await? {
        return answer_repeat(order_id, p.value, &terms, true);
    }
    let receipt = crate::domain::escrow::receipt(state, order_id)
        .await?
        .filter(|r| !r.cancelled)
        .ok_or_else(|| BlockchainError::NoReceipt(order_id.to_string()))?;
    if receipt.amount != terms.amount {
        return Err(BlockchainError::AmountNotReceived {
            asked: terms.amount,
            received: receipt.amount,
        });
    }
    terms.funding = match receipt.source {
        crate::domain::escrow::Source::Escrow => super::Funding::Escrow,
        crate::domain::escrow::Source::Platform => super::Funding::Platform,
    };
    let attempt = format!("{}-{}", state.instance, Id::generate());
    let fresh = Payment::new(terms.clone(), "api", Some(&attempt));
    let existing = state
        .store
        .transact(async |tx| match tx.get::<Payment>(order_id).await? {
            Some(p) => Ok(Some(p)),
            None => {
                tx.create(order_id, &fresh)?;
                Ok::<_, StoreError>(None)
            }
        })
        .await;
    let existing = match existing {
        Ok(e) => e,
        // Created concurrently by a duplicate: answer what is there.
        Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
            state.store.collection::<Payment>().get(order_id).await?
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(p) = existing {
        return answer_repeat(order_id, p.value, &terms, false);
    }

    match send_claimed(state, order_id, &attempt).await {
        Ok(p) => match p.state {
            PaymentState::Confirmed => Ok(Execution::Paid(p)),
            PaymentState::Failed => Err(BlockchainError::PaymentRefused {
                order_id: order_id.to_string(),
                payment: Box::new(p),
            }),
            _ => Ok(Execution::Pending(p)),
        },
        Err(err) => {
            forget_unsigned(state, order_id, &attempt).await;
            Err(err)
        }
    }
}

/// A payment there is: the same terms are answered as it stands, other
/// terms are refused. (Read before the receipt is, its funding is not
/// compared: the request cannot know it.)
fn answer_repeat(
    order_id: &Id,
    p: Payment,
    terms: &Terms,
    before_receipt: bool,
) -> Result<Execution, BlockchainError> {
    let same = if before_receipt {
        Terms {
            funding: p.terms.funding,
            ..terms.clone()
        } == p.terms
    } else {
        *terms == p.terms
    };
    if !same {
        return Err(BlockchainError::PaymentConflict {
            order_id: order_id.to_string(),
            payment: Box::new(p),
        });
    }
    answer_existing(order_id, p)
}

/// How a repeated request for an existing payment is answered.
fn answer_existing(order_id: &Id, p: Payment) -> Result<Execution, BlockchainError> {
    match p.state {
        PaymentState::Confirmed => Ok(Execution::AlreadyPaid(p)),
        PaymentState::Failed => Err(BlockchainError::PaymentRefused {
            order_id: order_id.to_string(),
            payment: Box::new(p),
        }),
        // Not yet signed and still held by the request that created it,
        // which may yet give it up (node down): ask again shortly.
        PaymentState::Queued if p.is_leased() && p.source == "api" => {
            Err(BlockchainError::PaymentInProgress)
        }
        _ => Ok(Execution::Pending(p)),
    }
}

/// Nothing was signed: forgets the request, so that a retry starts afresh
/// and nothing is left half-recorded.
async fn forget_unsigned(state: &AppState, order_id: &str, attempt: &str) {
    let _ = state
        .store
        .transact(async |tx| {
            if let Some(p) = tx.get::<Payment>(order_id).await?
                && p.value.state == PaymentState::Queued
                && p.value.lease_owner.as_deref() == Some(attempt)
            {
                tx.delete::<Payment>(order_id)?;
            }
            Ok::<_, StoreError>(())
        })
        .await;
}
