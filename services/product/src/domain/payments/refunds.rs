//! Money going back, and orders left unpaid. Cancelling a paid order owes
//! the refund of what was received, recorded in the same transaction as the
//! cancellation; a sweep asks the provider for each owed refund under a key
//! naming it (so a crash between asking and recording refunds once) and
//! records its answer. An escrowed order's refund is the blockchain
//! service's to make on `order.cancelled`; money received by hand is given
//! back by hand. The same sweep cancels orders left unpaid past their
//! expiry.

use std::time::Duration;

use chrono::Utc;
use common::Money;
use events::v1::OrderCancelled;
use store::{Direction, Op, Query, Txn};
use tokio_util::sync::CancellationToken;

use super::{ProviderError, ProviderName};
use crate::domain::orders::money_in::{FlagKind, PaymentFlag, ProviderRef, Refund, RefundState};
use crate::domain::orders::{Order, OrderStatus};
use crate::error::ProductError;
use crate::state::AppState;

/// Orders looked at per sweep, of each kind.
const SWEEP_BATCH: usize = 50;

/// What cancelling `o` (by `reason`: `buyer`, `artisan`, `admin` or
/// `expired`) does to its money: what was received is owed back, and
/// `order.cancelled` says how much and through whom.
pub fn cancel_money(
    state: &AppState,
    tx: &mut Txn,
    id: &str,
    o: &mut Order,
    reason: &str,
    paid: bool,
) -> Result<(), ProductError> {
    o.cancel_reason = Some(reason.to_owned());
    o.expires_at = None;
    let owed = if paid { owe_refunds(id, o) } else { None };
    state.publisher.emit(
        tx,
        id,
        &OrderCancelled {
            order_id: id.to_owned(),
            buyer_id: o.buyer_id.clone(),
            artisan_id: o.artisan_id.clone(),
            reason: reason.to_owned(),
            refund: owed.map(|(amount, _)| amount.into()),
            provider: owed.map(|(_, p)| p.as_str().to_owned()).unwrap_or_default(),
        },
    )?;
    Ok(())
}

/// Owe back every receipt not yet refunded; the total and its provider.
pub(super) fn owe_refunds(id: &str, o: &mut Order) -> Option<(Money, ProviderName)> {
    let mut total: Option<(Money, ProviderName)> = None;
    let receipts: Vec<_> = o
        .receipts
        .iter()
        .filter(|r| !o.refunds.iter().any(|f| f.payment_id == r.payment_id))
        .cloned()
        .collect();
    for r in receipts {
        owe(o, id, r.provider, &r.payment_id, r.amount);
        total = match total {
            None => Some((r.amount, r.provider)),
            Some((t, p)) => Some((t.checked_add(&r.amount).unwrap_or(t), p)),
        };
    }
    total
}

/// Owe `amount` of `payment_id` back through `provider`.
pub(super) fn owe(
    o: &mut Order,
    id: &str,
    provider: ProviderName,
    payment_id: &str,
    amount: Money,
) {
    let state = match provider {
        ProviderName::Manual => RefundState::Manual,
        _ => RefundState::Requested,
    };
    let n = o.refunds.len() + 1;
    o.refunds.push(Refund {
        provider,
        payment_id: payment_id.to_owned(),
        amount,
        key: refund_key(id, n),
        refund_id: None,
        state,
        last_error: None,
        requested_at: common::time::now(),
        processed_at: None,
    });
    o.refund_due = due(o);
}

/// The idempotency key of the `n`th refund of order `id`: unique per
/// refund and the same on every retry. Razorpay's `X-Refund-Idempotency`
/// takes at least 10 letters, digits, hyphens and underscores, which an
/// order id's characters are.
fn refund_key(id: &str, n: usize) -> String {
    format!("refund-{id}-{n}")
}

/// Whether a refund waits to be asked of a card provider (escrowed ones
/// are the blockchain service's).
pub(super) fn due(o: &Order) -> bool {
    o.refunds.iter().any(|r| {
        r.state == RefundState::Requested
            && matches!(r.provider, ProviderName::Sandbox | ProviderName::Razorpay)
    })
}

/// Until cancelled, every `every`: cancel unpaid orders past their expiry,
/// then ask providers for the refunds owed.
pub async fn sweep_loop(state: AppState, every: Duration, cancel: CancellationToken) {
    loop {
        if let Err(e) = expire_unpaid(&state).await {
            tracing::warn!(error = %e, "expiring unpaid orders failed");
        }
        if let Err(e) = settle_refunds(&state).await {
            tracing::warn!(error = %e, "settling refunds failed");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Cancel placed orders whose time to be paid has passed.
pub(super) async fn expire_unpaid(state: &AppState) -> Result<usize, ProductError> {
    let now = Utc::now();
    let query = Query::new()
        .eq("status", OrderStatus::Placed.as_str())
        .filter(
            "expires_at",
            Op::Le,
            serde_json::to_value(now).map_err(store::StoreError::Serialize)?,
        )
        .order_by("expires_at", Direction::Asc)
        .limit(SWEEP_BATCH);
    let (due, _) = state.orders.query(&query).await?;
    let mut expired = 0;
    for order in due {
        let id = order.id;
        let done = state
            .store
            .transact(async |tx: &mut Txn| {
                let Some(mut order) = tx.get::<Order>(&id).await? else {
                    return Ok(false);
                };
                let o = &mut order.value;
                if o.status != OrderStatus::Placed || o.expires_at.is_none_or(|at| at > Utc::now())
                {
                    return Ok(false);
                }
                o.record(OrderStatus::Cancelled, "expiry");
                cancel_money(state, tx, &id, o, "expired", false)?;
                tx.update(&order)?;
                Ok::<_, ProductError>(true)
            })
            .await?;
        if done {
            tracing::info!(order_id = id, "unpaid order expired");
            expired += 1;
        }
    }
    Ok(expired)
}

/// Ask the card provider for each refund owed, and record its answer.
pub(super) async fn settle_refunds(state: &AppState) -> Result<usize, ProductError> {
    let query = Query::new()
        .eq("refund_due", true)
        .order_by("updated_at", Direction::Asc)
        .limit(SWEEP_BATCH);
    let (owed, _) = state.orders.query(&query).await?;
    let mut settled = 0;
    for order in owed {
        let mut recorded = false;
        for refund in order
            .value
            .refunds
            .iter()
            .filter(|r| r.state == RefundState::Requested)
        {
            let Some(provider) = state.payments.card(refund.provider) else {
                tracing::warn!(
                    order_id = order.id,
                    provider = refund.provider.as_str(),
                    "a refund owed through a provider not configured here"
                );
                continue;
            };
            let answer = provider
                .refund(&refund.payment_id, refund.amount, &refund.key)
                .await;
            if let Err(ProviderError::Unavailable(why)) = &answer {
                tracing::warn!(order_id = order.id, why, "refund to be asked again");
                continue;
            }
            record_refund(state, &order.id, &refund.key, answer).await?;
            recorded = true;
            settled += 1;
        }
        if !recorded {
            // To the back of the queue: the orders behind it get their turn.
            touch(state, &order.id).await?;
        }
    }
    Ok(settled)
}

/// Marks an order looked at now (the sweep takes the oldest first).
async fn touch(state: &AppState, id: &str) -> Result<(), ProductError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            if let Some(mut order) = tx.get::<Order>(id).await? {
                order.value.updated_at = common::time::now();
                tx.update(&order)?;
            }
            Ok::<_, ProductError>(())
        })
        .await
}

/// The provider's answer to the refund `key` of order `id`.
async fn record_refund(
    state: &AppState,
    id: &str,
    key: &str,
    answer: Result<super::Refunded, ProviderError>,
) -> Result<(), ProductError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            let Some(mut order) = tx.get::<Order>(id).await? else {
                return Ok(());
            };
            let o = &mut order.value;
            let Some(refund) = o
                .refunds
                .iter_mut()
                .find(|r| r.key == key && r.state == RefundState::Requested)
            else {
                return Ok(());
            };
            let mut flag = None;
            match &answer {
                Ok(done) => {
                    refund.refund_id = Some(done.refund_id.clone());
                    if done.processed {
                        refund.state = RefundState::Processed;
                        refund.processed_at = Some(Utc::now());
                    } else {
                        refund.state = RefundState::Pending;
                    }
                    tx.set(
                        &ProviderRef::key(refund.provider, &done.refund_id),
                        &ProviderRef {
                            order_id: id.to_owned(),
                        },
                    )?;
                }
                Err(e) => {
                    refund.state = RefundState::Failed;
                    refund.last_error = Some(e.to_string());
                    flag = Some(PaymentFlag {
                        kind: FlagKind::RefundFailed,
                        provider: refund.provider,
                        payment_id: refund.payment_id.clone(),
                        stated_amount: refund.amount.amount,
                        stated_currency: refund.amount.currency.code().to_owned(),
                        detail: e.to_string(),
                        at: Utc::now(),
                    });
                }
            }
            o.flags.extend(flag);
            o.refund_due = due(o);
            o.updated_at = common::time::now();
            tx.update(&order)?;
            Ok::<_, ProductError>(())
        })
        .await
}
