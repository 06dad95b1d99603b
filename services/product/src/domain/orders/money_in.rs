//! What an order knows about money: the checkout in progress, the receipts
//! that made it paid, the refunds owed or made, and the flags an admin must
//! look at (money that arrived but could not be taken as the order's).

use chrono::{DateTime, Utc};
use common::Money;
use events::v1::OrderPaid;
use serde::{Deserialize, Serialize};
use store::Entity;
use utoipa::ToSchema;

use crate::domain::payments::ProviderName;

/// Where a checkout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    /// Created at the provider; waiting for the buyer to pay.
    Pending,
    /// The provider confirmed the money.
    Captured,
    /// The provider said the attempt failed; the buyer may check out again.
    Failed,
}

/// A payment created at a provider for this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Checkout {
    pub provider: ProviderName,
    /// The provider's id of the payment (Razorpay's order id; the escrow's
    /// order key).
    pub provider_order_id: String,
    pub amount: Money,
    pub state: CheckoutState,
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Money received for the order, as its provider confirmed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub provider: ProviderName,
    /// The provider's id of the money (Razorpay's payment id; the escrow
    /// deposit's transaction).
    pub payment_id: String,
    pub amount: Money,
    pub received_at: DateTime<Utc>,
    /// Why an admin recorded it (a manual receipt only).
    pub reason: Option<String>,
    /// Who recorded it (an admin's id for a manual receipt, else the provider).
    pub recorded_by: String,
}

impl super::Order {
    /// Keep `receipt` as order `id`'s payment (it no longer expires unpaid)
    /// and answer the `order.paid` event announcing it, which the caller
    /// emits in the same transaction.
    pub fn receive(&mut self, id: &str, receipt: Receipt) -> OrderPaid {
        let paid = OrderPaid {
            order_id: id.to_owned(),
            buyer_id: self.buyer_id.clone(),
            artisan_id: self.artisan_id.clone(),
            total: Some(self.total.into()),
            provider: receipt.provider.as_str().to_owned(),
            payment_id: receipt.payment_id.clone(),
            received: Some(receipt.amount.into()),
            reason: receipt.reason.clone().unwrap_or_default(),
        };
        self.receipts.push(receipt);
        self.expires_at = None;
        paid
    }
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Owed; not yet asked of the provider.
    Requested,
    /// Accepted by the provider; the money is on its way back.
    Pending,
    /// Back with the payer.
    Processed,
    /// The provider refused it; an admin must settle it by hand.
    Failed,
    /// Money received by hand: an admin gives it back by hand.
    Manual,
}

/// Money going back to the payer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub provider: ProviderName,
    /// The money refunded (a receipt's `payment_id`).
    pub payment_id: String,
    pub amount: Money,
    /// Names the refund at the provider, so that it is made once.
    pub key: String,
    pub refund_id: Option<String>,
    pub state: RefundState,
    pub last_error: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// Why money for an order could not be taken as its payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The provider confirmed another amount or currency than the order's
    /// total: the order stays unpaid.
    AmountMismatch,
    /// Money arrived for an order that had been cancelled (or had expired):
    /// it is refunded.
    PaidAfterCancellation,
    /// A second payment for an order already paid: it is refunded.
    DuplicatePayment,
    /// A refund the provider refused: settle by hand.
    RefundFailed,
}

/// Something about the order's money an admin must look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentFlag {
    pub kind: FlagKind,
    pub provider: ProviderName,
    pub payment_id: String,
    /// What the provider said, as it said it (minor units and currency).
    pub stated_amount: i64,
    pub stated_currency: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// Finds an order from a provider's id (its order, payment or refund id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderRef {
    pub order_id: String,
}

impl Entity for ProviderRef {
    const COLLECTION: &'static str = "payment_refs";
}

impl ProviderRef {
    /// The document id of `provider`'s id `id`.
    pub fn key(provider: ProviderName, id: &str) -> String {
        format!("{}:{id}", provider.as_str())
    }
}

/// A provider's event already applied (its id, per provider).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeenWebhook {
    pub outcome: String,
    pub at: DateTime<Utc>,
}

impl Entity for SeenWebhook {
    const COLLECTION: &'static str = "webhook_events";
}
