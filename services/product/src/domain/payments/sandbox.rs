//! The sandbox: a card/UPI provider's test mode, on this machine. It
//! creates payments and refunds without any network, and, outside
//! production, lets a test (or a developer) succeed or fail a payment:
//! that delivers a webhook in Razorpay's format, signed with the sandbox's
//! secret, over HTTP to the service's own webhook endpoint, where it is
//! verified by the same code as Razorpay's.

use std::time::Duration;

use async_trait::async_trait;
use common::{Id, Money};
use serde_json::{Value, json};
use url::Url;

use super::webhook::{EVENT_ID, SIGNATURE, sign};
use super::{Created, PaymentProvider, ProviderError, ProviderName, Refunded};

/// The sandbox provider.
pub struct Sandbox {
    secret: Vec<u8>,
    http: reqwest::Client,
}

impl Sandbox {
    /// A sandbox signing its webhooks with `secret`.
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.as_bytes().to_vec(),
            http: common::client::http_client(),
        }
    }

    /// Deliver `event` (a Razorpay-shaped body) to `webhook`, signed; the
    /// status the endpoint answered.
    pub async fn deliver(&self, webhook: &Url, event: &Value) -> Result<u16, ProviderError> {
        let body = serde_json::to_vec(event).map_err(|e| ProviderError::Refused(e.to_string()))?;
        let response = self
            .http
            .post(webhook.clone())
            .header("content-type", "application/json")
            .header(SIGNATURE, sign(&self.secret, &body))
            .header(EVENT_ID, format!("evt_sbx_{}", Id::generate()))
            .timeout(Duration::from_secs(10))
            .body(body)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("delivering the webhook: {e}")))?;
        Ok(response.status().as_u16())
    }
}

/// A `payment.captured` event.
pub fn captured(provider_order_id: &str, amount: i64, currency: &str) -> Value {
    payment_event(
        "payment.captured",
        provider_order_id,
        amount,
        currency,
        None,
    )
}

/// A `payment.failed` event.
pub fn failed(provider_order_id: &str, amount: i64, currency: &str, reason: &str) -> Value {
    payment_event(
        "payment.failed",
        provider_order_id,
        amount,
        currency,
        Some(reason),
    )
}

fn payment_event(
    event: &str,
    provider_order_id: &str,
    amount: i64,
    currency: &str,
    error: Option<&str>,
) -> Value {
    let status = if error.is_some() {
        "failed"
    } else {
        "captured"
    };
    json!({
        "entity": "event",
        "account_id": "acc_sandbox",
        "event": event,
        "contains": ["payment"],
        "payload": { "payment": { "entity": {
            "id": format!("pay_sbx_{}", Id::generate()),
            "entity": "payment",
            "amount": amount,
            "currency": currency,
            "status": status,
            "order_id": provider_order_id,
            "method": "upi",
            "error_description": error,
        }}},
        "created_at": chrono::Utc::now().timestamp(),
    })
}

#[async_trait]
impl PaymentProvider for Sandbox {
    fn name(&self) -> ProviderName {
        ProviderName::Sandbox
    }

    async fn create(&self, _order_id: &str, amount: Money) -> Result<Created, ProviderError> {
        Ok(Created {
            provider_order_id: format!("order_sbx_{}", Id::generate()),
            amount,
        })
    }

    async fn refund(
        &self,
        _payment_id: &str,
        amount: Money,
        key: &str,
    ) -> Result<Refunded, ProviderError> {
        Ok(Refunded {
            refund_id: format!("rfnd_sbx_{key}"),
            amount,
            processed: true,
        })
    }

    fn webhook_secret(&self) -> &[u8] {
        &self.secret
    }

    fn checkout_secret(&self) -> &[u8] {
        &self.secret
    }
}
