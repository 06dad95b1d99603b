//! Money in: the payment providers behind one trait, chosen by
//! configuration, and what they tell us.
//!
//! A provider creates a payment for exactly an order's total and answers
//! what a client needs to pay it; it confirms (or refuses) the payment by
//! a webhook verified over its raw body; it refunds. Razorpay (UPI, cards,
//! netbanking) in production; locally the sandbox, a card/UPI provider's
//! test mode that speaks Razorpay's webhook format and is verified by the
//! same code. Escrow on chain is the other way in: its deposits arrive as
//! `payment.received` events from the blockchain service.

mod apply;
mod checkout;
pub mod escrow;
pub mod razorpay;
mod refunds;
pub mod sandbox;
mod webhook;

use std::sync::Arc;

use async_trait::async_trait;
use common::Money;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use crate::config::{CardProvider, Settings};

pub use apply::{Outcome, apply_webhook, receive_escrow, refund_escrowed};
pub use checkout::{CheckoutAnswer, start_checkout};
pub use refunds::{cancel_money, sweep_loop};
pub use webhook::{
    EVENT_ID, Paid, SIGNATURE, WebhookError, WebhookEvent, WebhookKind, checkout_signature_matches,
    sign, verify,
};

/// Which provider a payment went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderName {
    /// The local stand-in of a card/UPI provider's test mode.
    Sandbox,
    /// Razorpay: UPI, cards, netbanking.
    Razorpay,
    /// A deposit into the fair-pay contract's escrow.
    Escrow,
    /// Recorded by an admin, with a reason.
    Manual,
}

impl ProviderName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Razorpay => "razorpay",
            Self::Escrow => "escrow",
            Self::Manual => "manual",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Sandbox, Self::Razorpay, Self::Escrow, Self::Manual]
            .into_iter()
            .find(|p| p.as_str() == raw)
    }
}

/// A payment the provider created for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The provider's id of the payment (Razorpay's order id).
    pub provider_order_id: String,
    pub amount: Money,
}

/// A refund the provider accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunded {
    pub refund_id: String,
    pub amount: Money,
    /// Whether the provider says the money has gone back already.
    pub processed: bool,
}

/// Why a call to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider is down, slow or rate-limiting: try again later.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (it will refuse it again).
    #[error("the payment provider refused: {0}")]
    Refused(String),
}

/// A card/UPI payment provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> ProviderName;

    /// A payment of exactly `amount` for our order `order_id` (its receipt
    /// at the provider).
    async fn create(&self, order_id: &str, amount: Money) -> Result<Created, ProviderError>;

    /// Refund `amount` of the provider's payment `payment_id`; `key` names
    /// this refund, so that asking twice refunds once.
    async fn refund(
        &self,
        payment_id: &str,
        amount: Money,
        key: &str,
    ) -> Result<Refunded, ProviderError>;

    /// The secret its webhooks are signed with.
    fn webhook_secret(&self) -> &[u8];

    /// The key a client-side payment confirmation is signed with
    /// (Razorpay Checkout's `razorpay_signature`).
    fn checkout_secret(&self) -> &[u8];
}

/// The ways in this service takes money through, as configured.
pub struct Payments {
    card: Arc<dyn PaymentProvider>,
    sandbox: Option<Arc<sandbox::Sandbox>>,
    escrow: Option<Arc<dyn escrow::EscrowApi>>,
    razorpay_key_id: Option<String>,
    webhook_base: Url,
    unpaid_expiry: chrono::Duration,
}

impl Payments {
    /// The configured providers; `escrow` when escrow is offered.
    pub fn new(settings: &Settings, escrow: Option<Arc<dyn escrow::EscrowApi>>) -> Self {
        let pay = &settings.payments;
        let sandbox = Arc::new(sandbox::Sandbox::new(pay.sandbox_secret.expose_secret()));
        let (card, sandbox, razorpay_key_id): (Arc<dyn PaymentProvider>, _, _) =
            match (&pay.provider, &pay.razorpay) {
                (CardProvider::Razorpay, Some(config)) => (
                    Arc::new(razorpay::Razorpay::new(config.clone())),
                    None,
                    Some(config.key_id.clone()),
                ),
                _ => (sandbox.clone(), Some(sandbox), None),
            };
        Self {
            card,
            sandbox,
            escrow: escrow.filter(|_| pay.escrow),
            razorpay_key_id,
            webhook_base: settings.self_url.clone(),
            unpaid_expiry: chrono::Duration::seconds(
                i64::try_from(pay.unpaid_expiry_secs).unwrap_or(i64::MAX / 1000),
            ),
        }
    }

    /// The card/UPI provider called `name`, if it is the configured one.
    pub fn card(&self, name: ProviderName) -> Option<&Arc<dyn PaymentProvider>> {
        (self.card.name() == name).then_some(&self.card)
    }

    /// The configured card/UPI provider.
    pub fn card_provider(&self) -> &Arc<dyn PaymentProvider> {
        &self.card
    }

    /// The sandbox, when it is the card provider.
    pub fn sandbox(&self) -> Option<&Arc<sandbox::Sandbox>> {
        self.sandbox.as_ref()
    }

    pub fn escrow(&self) -> Option<&Arc<dyn escrow::EscrowApi>> {
        self.escrow.as_ref()
    }

    pub fn razorpay_key_id(&self) -> Option<&str> {
        self.razorpay_key_id.as_deref()
    }

    /// Where `provider`'s webhooks are delivered (this service's own route).
    pub fn webhook_url(&self, provider: ProviderName) -> Option<Url> {
        self.webhook_base
            .join(&format!("orders/payments/webhook/{}", provider.as_str()))
            .ok()
    }

    /// How long an order may stay unpaid.
    pub fn unpaid_expiry(&self) -> chrono::Duration {
        self.unpaid_expiry
    }
}
