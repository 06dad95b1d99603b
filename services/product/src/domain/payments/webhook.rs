//! Webhooks in Razorpay's format, which the sandbox speaks too: an event
//! (`payment.captured`, `payment.failed`, `refund.processed`,
//! `refund.failed`) whose raw body
//! is signed with HMAC-SHA256 and the webhook secret (hex, in
//! `X-Razorpay-Signature`), and whose id (`X-Razorpay-Event-Id`) makes
//! redelivery harmless. Nothing of a body is read before its signature
//! checks out.

use aws_lc_rs::hmac;
use common::{Currency, Money};
use http::HeaderMap;
use serde::Deserialize;

/// The signature header.
pub const SIGNATURE: &str = "x-razorpay-signature";
/// The event id header.
pub const EVENT_ID: &str = "x-razorpay-event-id";
/// The longest event id accepted.
const MAX_EVENT_ID: usize = 128;

/// Why a webhook is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No signature, or one that does not match the body.
    #[error("the webhook's signature is missing or does not match its body")]
    BadSignature,
    /// Signed, but without a usable event id.
    #[error("the webhook has no event id")]
    NoEventId,
    /// Signed, but not an event we can read.
    #[error("the webhook's body is not an event we can read")]
    Malformed,
}

/// A verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_id: String,
    pub kind: WebhookKind,
}

/// What a verified event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookKind {
    /// Money was taken: `amount` of the provider's payment `payment_id`
    /// for the provider's order `provider_order_id`.
    Captured {
        payment_id: String,
        provider_order_id: String,
        /// As the provider says it (minor units; checked against the order).
        amount: Paid,
    },
    /// The attempt failed; the order can be paid again.
    Failed {
        payment_id: String,
        provider_order_id: String,
        reason: String,
    },
    /// A refund has gone back to the payer.
    RefundProcessed {
        refund_id: String,
        payment_id: String,
        amount: Paid,
    },
    /// The provider could not give a refund back; an admin settles it.
    RefundFailed {
        refund_id: String,
        payment_id: String,
        amount: Paid,
    },
    /// An event the platform does not act on (acknowledged, ignored).
    Other(String),
}

/// An amount as a provider states it: minor units and a currency code,
/// compared with an order's total before anything is believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    pub amount: i64,
    pub currency: String,
}

impl Paid {
    /// Exactly `expected`, in its currency.
    pub fn is(&self, expected: Money) -> bool {
        self.amount == expected.amount && self.currency == expected.currency.code()
    }

    /// As money, when the currency is one the platform knows.
    pub fn money(&self) -> Option<Money> {
        let currency: Currency = self.currency.parse().ok()?;
        Some(Money::new(self.amount, currency))
    }
}

/// The hex HMAC-SHA256 of `body` with `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    hex::encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body).as_ref())
}

/// Checks a webhook's signature over its raw body (in constant time), then
/// reads it.
pub fn verify(
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<WebhookEvent, WebhookError> {
    let signature = headers
        .get(SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| hex::decode(v.trim()).ok())
        .ok_or(WebhookError::BadSignature)?;
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), body, &signature)
        .map_err(|_| WebhookError::BadSignature)?;
    let event_id = headers
        .get(EVENT_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= MAX_EVENT_ID)
        .ok_or(WebhookError::NoEventId)?
        .to_owned();
    let event: Event = serde_json::from_slice(body).map_err(|_| WebhookError::Malformed)?;
    Ok(WebhookEvent {
        event_id,
        kind: event.kind()?,
    })
}

/// A signature check of a client-side confirmation (Razorpay Checkout):
/// HMAC-SHA256 of `order_id|payment_id` with the key secret.
pub fn checkout_signature_matches(
    secret: &[u8],
    provider_order_id: &str,
    payment_id: &str,
    signature: &str,
) -> bool {
    let Ok(signature) = hex::decode(signature.trim()) else {
        return false;
    };
    let message = format!("{provider_order_id}|{payment_id}");
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, secret),
        message.as_bytes(),
        &signature,
    )
    .is_ok()
}

#[derive(Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    payload: Payload,
}

#[derive(Default, Deserialize)]
struct Payload {
    payment: Option<Wrapped<Payment>>,
    refund: Option<Wrapped<Refund>>,
}

#[derive(Deserialize)]
struct Wrapped<T> {
    entity: T,
}

#[derive(Deserialize)]
struct Payment {
    id: String,
    amount: i64,
    currency: String,
    order_id: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct Refund {
    id: String,
    amount: i64,
    currency: String,
    payment_id: String,
}

impl Event {
    fn kind(self) -> Result<WebhookKind, WebhookError> {
        let payment = self.payload.payment.map(|p| p.entity);
        let event = self.event.as_str();
        let other = || WebhookKind::Other(event.chars().take(64).collect());
        Ok(match event {
            "payment.captured" | "payment.failed" => {
                let p = payment.ok_or(WebhookError::Malformed)?;
                // A payment made outside an order of ours (a payment link,
                // say): nothing to apply it to here.
                let Some(provider_order_id) = p.order_id else {
                    return Ok(other());
                };
                if event == "payment.captured" {
                    WebhookKind::Captured {
                        amount: Paid {
                            amount: p.amount,
                            currency: p.currency,
                        },
                        provider_order_id,
                        payment_id: p.id,
                    }
                } else {
                    WebhookKind::Failed {
                        provider_order_id,
                        reason: p
                            .error_description
                            .unwrap_or_else(|| "the payment failed".to_owned()),
                        payment_id: p.id,
                    }
                }
            }
            "refund.processed" | "refund.failed" => {
                let r = self.payload.refund.ok_or(WebhookError::Malformed)?.entity;
                let amount = Paid {
                    amount: r.amount,
                    currency: r.currency,
                };
                if event == "refund.processed" {
                    WebhookKind::RefundProcessed {
                        amount,
                        refund_id: r.id,
                        payment_id: r.payment_id,
                    }
                } else {
                    WebhookKind::RefundFailed {
                        amount,
                        refund_id: r.id,
                        payment_id: r.payment_id,
                    }
                }
            }
            _ => other(),
        })
    }
}
