//! What confirmed money does to an order, in one transaction with the
//! record that its event was applied (a redelivered event changes nothing):
//! exactly the order's total, for a payment created for the order, makes a
//! placed order paid; any other money is flagged for an admin and given
//! back (another amount, a cancelled order, an order paid already); a failed attempt reopens
//! the checkout; a processed refund shows on the order. Card and UPI money
//! arrives by webhook, escrowed money as the blockchain service's
//! `payment.received`.

use chrono::Utc;
use common::Money;
use events::v1::{PaymentReceived, PaymentRefunded};
use store::Txn;

use super::{Paid, ProviderName, WebhookEvent, WebhookKind, refunds};
use crate::domain::orders::money_in::{
    Checkout, CheckoutState, FlagKind, PaymentFlag, ProviderRef, Receipt, Refund, RefundState,
    SeenWebhook,
};
use crate::domain::orders::{Order, OrderStatus};
use crate::error::ProductError;
use crate::state::AppState;

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The order changed (paid, flagged, refunded, reopened).
    Applied,
    /// This event was applied before.
    Duplicate,
    /// Well signed, but about nothing of ours, or nothing to do.
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
        }
    }
}

/// Money a provider says it received for an order.
struct Incoming {
    provider: ProviderName,
    payment_id: String,
    /// The provider's id of what was paid (its order; the escrow's key).
    provider_order_id: String,
    stated: Paid,
}

/// Applies webhook `event` of `provider` once.
pub async fn apply_webhook(
    state: &AppState,
    provider: ProviderName,
    event: &WebhookEvent,
) -> Result<Outcome, ProductError> {
    let seen_id = ProviderRef::key(provider, &event.event_id);
    state
        .store
        .transact(async |tx: &mut Txn| {
            if tx.get::<SeenWebhook>(&seen_id).await?.is_some() {
                return Ok(Outcome::Duplicate);
            }
            let outcome = match &event.kind {
                WebhookKind::Captured {
                    payment_id,
                    provider_order_id,
                    amount,
                } => {
                    let money = Incoming {
                        provider,
                        payment_id: payment_id.clone(),
                        provider_order_id: provider_order_id.clone(),
                        stated: amount.clone(),
                    };
                    received(state, tx, &money).await?
                }
                WebhookKind::Failed {
                    provider_order_id,
                    reason,
                    ..
                } => failed(tx, provider, provider_order_id, reason).await?,
                WebhookKind::RefundProcessed {
                    refund_id,
                    payment_id,
                    ..
                } => refund_processed(tx, provider, payment_id, refund_id).await?,
                WebhookKind::RefundFailed {
                    refund_id,
                    payment_id,
                    ..
                } => refund_failed(tx, provider, payment_id, refund_id).await?,
                WebhookKind::Other(_) => Outcome::Ignored,
            };
            tx.create(
                &seen_id,
                &SeenWebhook {
                    outcome: outcome.as_str().to_owned(),
                    at: Utc::now(),
                },
            )?;
            Ok(outcome)
        })
        .await
}

/// `payment.received` from the blockchain service: an escrow deposit.
pub async fn receive_escrow(
    state: &AppState,
    tx: &mut Txn,
    event: &PaymentReceived,
) -> Result<Outcome, ProductError> {
    let amount = event.amount.as_ref();
    let money = Incoming {
        provider: ProviderName::Escrow,
        payment_id: event.payment_id.clone(),
        provider_order_id: event.order_id.clone(),
        stated: Paid {
            amount: amount.map_or(0, |m| m.amount),
            currency: amount.map(|m| m.currency.clone()).unwrap_or_default(),
        },
    };
    received(state, tx, &money).await
}

/// `payment.refunded` from the blockchain service: an escrow deposit given
/// back.
pub async fn refund_escrowed(
    tx: &mut Txn,
    event: &PaymentRefunded,
) -> Result<Outcome, ProductError> {
    let Some(mut order) = tx.get::<Order>(&event.order_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let refund = order.value.refunds.iter_mut().find(|r| {
        r.provider == ProviderName::Escrow
            && matches!(r.state, RefundState::Requested | RefundState::Pending)
    });
    match refund {
        Some(refund) => {
            refund.state = RefundState::Processed;
            refund.refund_id = Some(event.refund_id.clone());
            refund.processed_at = Some(Utc::now());
        }
        // A deposit the order did not take (another amount, or the order
        // paid another way): its refund shows on the order all the same.
        None => {
            let Some(amount) = event
                .amount
                .as_ref()
                .and_then(|m| Money::try_from(m.clone()).ok())
            else {
                return Ok(Outcome::Ignored);
            };
            order.value.refunds.push(Refund {
                provider: ProviderName::Escrow,
                payment_id: event.tx_hash.clone(),
                amount,
                key: event.refund_id.clone(),
                refund_id: Some(event.refund_id.clone()),
                state: RefundState::Processed,
                last_error: None,
                requested_at: Utc::now(),
                processed_at: Some(Utc::now()),
            });
        }
    }
    order.value.updated_at = common::time::now();
    tx.update(&order)?;
    Ok(Outcome::Applied)
}

/// The order a provider's id belongs to, if it is one of ours.
async fn order_of(
    tx: &mut Txn,
    provider: ProviderName,
    provider_id: &str,
) -> Result<Option<store::Versioned<Order>>, ProductError> {
    let order_id = match provider {
        // The escrow's events name the order itself.
        ProviderName::Escrow => provider_id.to_owned(),
        _ => match tx
            .get::<ProviderRef>(&ProviderRef::key(provider, provider_id))
            .await?
        {
            Some(r) => r.value.order_id,
            None => return Ok(None),
        },
    };
    Ok(tx.get::<Order>(&order_id).await?)
}

/// Money received: the order's payment, or flagged (and refunded when it
/// cannot be kept).
async fn received(
    state: &AppState,
    tx: &mut Txn,
    money: &Incoming,
) -> Result<Outcome, ProductError> {
    let Some(mut order) = order_of(tx, money.provider, &money.provider_order_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let id = order.id.clone();
    let o = &mut order.value;
    if o.receipts.iter().any(|r| r.payment_id == money.payment_id)
        || o.flags.iter().any(|f| f.payment_id == money.payment_id)
    {
        return Ok(Outcome::Duplicate);
    }
    let current = o.checkout.as_ref().is_some_and(|c| {
        c.provider == money.provider && c.provider_order_id == money.provider_order_id
    });
    let flag = |kind: FlagKind, detail: String| PaymentFlag {
        kind,
        provider: money.provider,
        payment_id: money.payment_id.clone(),
        stated_amount: money.stated.amount,
        stated_currency: money.stated.currency.clone(),
        detail,
        at: Utc::now(),
    };
    match o.status {
        // Any payment created for this order (the current checkout, or one
        // a concurrent or earlier checkout created) pays it, if exact.
        OrderStatus::Placed if money.stated.is(o.total) => {
            pay(state, tx, &id, o, money, current)?;
        }
        OrderStatus::Placed => {
            // The order stays unpaid and the money goes back; the buyer
            // may pay again, correctly.
            let detail = format!(
                "{} {} received where the order's total is {}",
                money.stated.amount, money.stated.currency, o.total
            );
            o.flags.push(flag(FlagKind::AmountMismatch, detail));
            if let Some(c) = o.checkout.as_mut().filter(|_| current) {
                c.state = CheckoutState::Failed;
                c.failure = Some("the amount received did not match the order".to_owned());
            }
            give_back(o, &id, money);
        }
        status => {
            let kind = if status == OrderStatus::Cancelled {
                FlagKind::PaidAfterCancellation
            } else {
                FlagKind::DuplicatePayment
            };
            let detail = format!("money arrived for an order that is {}", status.as_str());
            o.flags.push(flag(kind, detail));
            give_back(o, &id, money);
        }
    }
    o.updated_at = common::time::now();
    tx.update(&order)?;
    remember_payment(tx, money, &id)?;
    Ok(Outcome::Applied)
}

/// The order is paid: its receipt, its checkout captured, `order.paid`.
fn pay(
    state: &AppState,
    tx: &mut Txn,
    id: &str,
    o: &mut Order,
    money: &Incoming,
    current: bool,
) -> Result<(), ProductError> {
    let by = format!("provider:{}", money.provider.as_str());
    let paid = o.receive(
        id,
        Receipt {
            provider: money.provider,
            payment_id: money.payment_id.clone(),
            amount: o.total,
            received_at: Utc::now(),
            reason: None,
            recorded_by: by.clone(),
        },
    );
    match o.checkout.as_mut() {
        Some(c) if current => c.state = CheckoutState::Captured,
        // Paid through another checkout's payment: the order shows that one.
        _ => {
            o.checkout = Some(Checkout {
                provider: money.provider,
                provider_order_id: money.provider_order_id.clone(),
                amount: o.total,
                state: CheckoutState::Captured,
                failure: None,
                created_at: Utc::now(),
            });
        }
    }
    o.record(OrderStatus::Paid, &by);
    state.publisher.emit(tx, id, &paid)?;
    Ok(())
}

/// Money that cannot be kept goes back the way it came (the escrow's is
/// the blockchain service's to return; an unknown currency is an admin's).
fn give_back(o: &mut Order, id: &str, money: &Incoming) {
    if let (ProviderName::Sandbox | ProviderName::Razorpay, Some(amount)) =
        (money.provider, money.stated.money())
    {
        refunds::owe(o, id, money.provider, &money.payment_id, amount);
    }
}

/// Finds the order from the provider's payment id (for its refunds).
fn remember_payment(tx: &mut Txn, money: &Incoming, order_id: &str) -> Result<(), ProductError> {
    if money.provider != ProviderName::Escrow {
        tx.set(
            &ProviderRef::key(money.provider, &money.payment_id),
            &ProviderRef {
                order_id: order_id.to_owned(),
            },
        )?;
    }
    Ok(())
}

/// A failed attempt: the checkout reopens, unless the order moved on.
async fn failed(
    tx: &mut Txn,
    provider: ProviderName,
    provider_order_id: &str,
    reason: &str,
) -> Result<Outcome, ProductError> {
    let Some(mut order) = order_of(tx, provider, provider_order_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let o = &mut order.value;
    let reopen = o.status == OrderStatus::Placed
        && o.checkout.as_ref().is_some_and(|c| {
            c.provider_order_id == provider_order_id && c.state == CheckoutState::Pending
        });
    if !reopen {
        // Late: the order was paid (or moved on) meanwhile.
        return Ok(Outcome::Ignored);
    }
    if let Some(c) = o.checkout.as_mut() {
        c.state = CheckoutState::Failed;
        c.failure = Some(reason.chars().take(200).collect());
    }
    o.updated_at = common::time::now();
    tx.update(&order)?;
    Ok(Outcome::Applied)
}

/// A refund the provider has processed.
async fn refund_processed(
    tx: &mut Txn,
    provider: ProviderName,
    payment_id: &str,
    refund_id: &str,
) -> Result<Outcome, ProductError> {
    let Some(mut order) = order_of(tx, provider, payment_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let refund = order.value.refunds.iter_mut().find(|r| {
        r.payment_id == payment_id
            && (r.refund_id.as_deref() == Some(refund_id)
                || matches!(r.state, RefundState::Requested | RefundState::Pending))
    });
    match refund {
        Some(r) if r.state != RefundState::Processed => {
            r.state = RefundState::Processed;
            r.refund_id = Some(refund_id.to_owned());
            r.processed_at = Some(Utc::now());
        }
        _ => return Ok(Outcome::Ignored),
    }
    order.value.refund_due = refunds::due(&order.value);
    order.value.updated_at = common::time::now();
    tx.update(&order)?;
    Ok(Outcome::Applied)
}

/// A refund the provider could not make: failed, and flagged for an admin.
async fn refund_failed(
    tx: &mut Txn,
    provider: ProviderName,
    payment_id: &str,
    refund_id: &str,
) -> Result<Outcome, ProductError> {
    let Some(mut order) = order_of(tx, provider, payment_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let o = &mut order.value;
    let Some(refund) = o.refunds.iter_mut().find(|r| {
        r.payment_id == payment_id
            && r.refund_id.as_deref().is_none_or(|id| id == refund_id)
            && matches!(r.state, RefundState::Requested | RefundState::Pending)
    }) else {
        return Ok(Outcome::Ignored);
    };
    let detail = "the provider could not make this refund: settle it by hand".to_owned();
    refund.state = RefundState::Failed;
    refund.refund_id = Some(refund_id.to_owned());
    refund.last_error = Some(detail.clone());
    let flag = PaymentFlag {
        kind: FlagKind::RefundFailed,
        provider,
        payment_id: payment_id.to_owned(),
        stated_amount: refund.amount.amount,
        stated_currency: refund.amount.currency.code().to_owned(),
        detail,
        at: Utc::now(),
    };
    o.flags.push(flag);
    o.refund_due = refunds::due(o);
    o.updated_at = common::time::now();
    tx.update(&order)?;
    Ok(Outcome::Applied)
}
