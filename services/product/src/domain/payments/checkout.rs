//! Checkout: the buyer of a placed order asks to pay it; the provider
//! creates a payment of exactly the order's total, and the answer says what
//! the client needs to pay it (Razorpay Checkout's options, the sandbox's
//! own routes, or what the wallet deposits into escrow). Asking again while
//! that payment is pending answers the same payment.

use chrono::{DateTime, Utc};
use common::Money;
use common::identity::Caller;
use serde::{Deserialize, Serialize};
use store::Txn;
use utoipa::ToSchema;

use super::escrow::EscrowTerms;
use super::{ProviderError, ProviderName};
use crate::domain::orders::money_in::{Checkout, CheckoutState, ProviderRef};
use crate::domain::orders::{Order, OrderStatus};
use crate::error::ProductError;
use crate::state::AppState;

/// What a client needs to pay an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutAnswer {
    pub order_id: String,
    pub provider: ProviderName,
    /// Exactly the order's total.
    pub amount: Money,
    pub state: CheckoutState,
    /// Unpaid by then, the order is cancelled.
    pub expires_at: Option<DateTime<Utc>>,
    /// Razorpay Checkout's options.
    pub razorpay: Option<RazorpayCheckout>,
    /// The sandbox's routes that succeed or fail this payment (outside
    /// production only).
    pub sandbox: Option<SandboxCheckout>,
    /// What the buyer's wallet deposits into the fair-pay contract.
    pub escrow: Option<EscrowTerms>,
}

/// Razorpay Checkout's options for this payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RazorpayCheckout {
    pub key_id: String,
    pub order_id: String,
    pub amount: i64,
    pub currency: String,
}

/// The sandbox's routes for this payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SandboxCheckout {
    pub provider_order_id: String,
    /// `POST` here to have the payment captured.
    pub succeed: String,
    /// `POST` here to have it fail.
    pub fail: String,
}

/// Start (or answer again) the payment of order `id` by its buyer through
/// `provider` (the card provider by default).
pub async fn start_checkout(
    state: &AppState,
    caller: &Caller,
    id: &str,
    provider: Option<ProviderName>,
) -> Result<CheckoutAnswer, ProductError> {
    let payments = &state.payments;
    let provider = provider.unwrap_or_else(|| payments.card_provider().name());
    let offered = match provider {
        ProviderName::Escrow => payments.escrow().is_some(),
        ProviderName::Manual => false,
        card => payments.card(card).is_some(),
    };
    if !offered {
        return Err(ProductError::invalid(
            "provider",
            "unavailable",
            "this way of paying is not offered here",
        ));
    }
    let order = payable(&state.orders.get(id).await?, caller, id)?;
    if let Some(c) = pending_with(&order, provider) {
        let c = c.clone();
        return answer(state, id, &order, &c).await;
    }
    let (provider_order_id, escrow) = match provider {
        ProviderName::Escrow => {
            let escrow = payments.escrow().ok_or(ProductError::NotPayable)?;
            let terms = escrow.expect(id, order.total).await?;
            (id.to_owned(), Some(terms))
        }
        card => {
            let created = payments
                .card(card)
                .ok_or(ProductError::NotPayable)?
                .create(id, order.total)
                .await
                .map_err(provider_error)?;
            (created.provider_order_id, None)
        }
    };
    let checkout = Checkout {
        provider,
        provider_order_id,
        amount: order.total,
        state: CheckoutState::Pending,
        failure: None,
        created_at: Utc::now(),
    };
    let (order, checkout) = state
        .store
        .transact(async |tx: &mut Txn| {
            let Some(mut stored) = tx.get::<Order>(id).await? else {
                return Err(ProductError::NotFound(format!("order {id}")));
            };
            payable(&Some(stored.clone()), caller, id)?;
            if provider != ProviderName::Escrow {
                // Money paid against this provider order is the order's,
                // even if a concurrent checkout's answer is the one kept.
                tx.set(
                    &ProviderRef::key(provider, &checkout.provider_order_id),
                    &ProviderRef {
                        order_id: id.to_owned(),
                    },
                )?;
            }
            if let Some(pending) = pending_with(&stored.value, provider) {
                // A concurrent checkout got there first: one answer for both.
                return Ok((stored.value.clone(), pending.clone()));
            }
            stored.value.checkout = Some(checkout.clone());
            stored.value.updated_at = common::time::now();
            tx.update(&stored)?;
            Ok((stored.value, checkout.clone()))
        })
        .await?;
    let mut answered = answer_without_escrow(state, id, &order, &checkout);
    answered.escrow = escrow;
    Ok(answered)
}

/// The order's checkout through `provider` still waiting to be paid.
fn pending_with(order: &Order, provider: ProviderName) -> Option<&Checkout> {
    order
        .checkout
        .as_ref()
        .filter(|c| c.provider == provider && c.state == CheckoutState::Pending)
}

/// The order, if `caller` may pay it now: its buyer, while it is placed and
/// not expired.
fn payable(
    found: &Option<store::Versioned<Order>>,
    caller: &Caller,
    id: &str,
) -> Result<Order, ProductError> {
    let order = found
        .as_ref()
        .filter(|o| o.value.visible_to(caller))
        .ok_or_else(|| ProductError::NotFound(format!("order {id}")))?;
    if order.value.buyer_id != caller.uid {
        return Err(ProductError::Forbidden(
            "only the order's buyer pays it".to_owned(),
        ));
    }
    let expired = order.value.expires_at.is_some_and(|at| at <= Utc::now());
    if order.value.status != OrderStatus::Placed || expired {
        return Err(ProductError::NotPayable);
    }
    Ok(order.value.clone())
}

async fn answer(
    state: &AppState,
    id: &str,
    order: &Order,
    c: &Checkout,
) -> Result<CheckoutAnswer, ProductError> {
    let mut answered = answer_without_escrow(state, id, order, c);
    if c.provider == ProviderName::Escrow
        && let Some(escrow) = state.payments.escrow()
    {
        answered.escrow = Some(escrow.expect(id, order.total).await?);
    }
    Ok(answered)
}

fn answer_without_escrow(
    state: &AppState,
    id: &str,
    order: &Order,
    c: &Checkout,
) -> CheckoutAnswer {
    let razorpay = (c.provider == ProviderName::Razorpay)
        .then(|| state.payments.razorpay_key_id())
        .flatten()
        .map(|key_id| RazorpayCheckout {
            key_id: key_id.to_owned(),
            order_id: c.provider_order_id.clone(),
            amount: c.amount.amount,
            currency: c.amount.currency.code().to_owned(),
        });
    let sandbox = (c.provider == ProviderName::Sandbox).then(|| SandboxCheckout {
        provider_order_id: c.provider_order_id.clone(),
        succeed: format!("/orders/{id}/sandbox/succeed"),
        fail: format!("/orders/{id}/sandbox/fail"),
    });
    CheckoutAnswer {
        order_id: id.to_owned(),
        provider: c.provider,
        amount: c.amount,
        state: c.state,
        expires_at: order.expires_at,
        razorpay,
        sandbox,
        escrow: None,
    }
}

/// A provider that cannot take the payment now is a 503 (nothing changed);
/// one that refuses it, a 502.
pub(super) fn provider_error(e: ProviderError) -> ProductError {
    match e {
        ProviderError::Unavailable(why) => ProductError::PaymentProviderUnavailable(why),
        ProviderError::Refused(why) => ProductError::PaymentProviderRefused(why),
    }
}
