//! Paying orders in tests: a checkout, and webhooks signed the way a
//! provider signs them, by an HMAC implementation of the tests' own (not
//! the service's), so that a mistake in the service's verification cannot
//! hide behind the same mistake in the test.

use hmac::{Hmac, Mac};
use http::{Method, StatusCode};
use product::domain::orders::OrderStatus;
use product::domain::payments::CheckoutAnswer;
use product::routes::orders::OrderView;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, TestResponse};

/// The sandbox's default webhook secret.
pub(crate) const SANDBOX_SECRET: &str = "craftchain-sandbox-webhook-secret";

/// Hex HMAC-SHA256 of `body` with `secret`.
pub(crate) fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A `payment.captured` event as Razorpay sends it.
pub(crate) fn captured(provider_order_id: &str, payment_id: &str, amount: i64) -> Value {
    json!({
        "entity": "event", "account_id": "acc_test", "event": "payment.captured",
        "contains": ["payment"],
        "payload": {"payment": {"entity": {
            "id": payment_id, "entity": "payment", "amount": amount, "currency": "INR",
            "status": "captured", "order_id": provider_order_id, "method": "upi"
        }}},
        "created_at": 1_767_000_000
    })
}

/// A `payment.failed` event.
pub(crate) fn failed(provider_order_id: &str, payment_id: &str, amount: i64) -> Value {
    json!({
        "entity": "event", "account_id": "acc_test", "event": "payment.failed",
        "contains": ["payment"],
        "payload": {"payment": {"entity": {
            "id": payment_id, "entity": "payment", "amount": amount, "currency": "INR",
            "status": "failed", "order_id": provider_order_id,
            "error_description": "Payment was declined by the bank"
        }}},
        "created_at": 1_767_000_000
    })
}

/// A `refund.processed` event.
pub(crate) fn refund_processed(refund_id: &str, payment_id: &str, amount: i64) -> Value {
    json!({
        "entity": "event", "account_id": "acc_test", "event": "refund.processed",
        "contains": ["refund", "payment"],
        "payload": {"refund": {"entity": {
            "id": refund_id, "entity": "refund", "amount": amount, "currency": "INR",
            "payment_id": payment_id, "status": "processed"
        }}},
        "created_at": 1_767_000_000
    })
}

impl TestApp {
    /// `POST /orders/{id}/checkout` as the buyer.
    pub(crate) async fn checkout(&self, id: &str, provider: Option<&str>) -> TestResponse {
        let body = match provider {
            Some(p) => json!({ "provider": p }),
            None => json!({}),
        };
        self.post_json(
            &format!("/orders/{id}/checkout"),
            &body,
            Some(&self.buyer()),
        )
        .await
    }

    /// The raw `body` to `/orders/payments/webhook/{provider}`, with a
    /// signature header (if any) and an event id.
    pub(crate) async fn webhook_raw(
        &self,
        provider: &str,
        event_id: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> TestResponse {
        let mut builder = testkit::http::request(
            Method::POST,
            &format!("/orders/payments/webhook/{provider}"),
            None,
        )
        .header("content-type", "application/json")
        .header("x-razorpay-event-id", event_id);
        if let Some(signature) = signature {
            builder = builder.header("x-razorpay-signature", signature);
        }
        self.send(builder.body(body.to_vec().into()).unwrap()).await
    }

    /// `event` to the webhook route, signed with `secret`.
    pub(crate) async fn webhook(
        &self,
        provider: &str,
        secret: &str,
        event_id: &str,
        event: &Value,
    ) -> TestResponse {
        let body = serde_json::to_vec(event).unwrap();
        let signature = hmac_hex(secret, &body);
        self.webhook_raw(provider, event_id, &body, Some(&signature))
            .await
    }

    /// Pay order `id` through the sandbox: a checkout and its signed
    /// `payment.captured`; panics unless the order is then paid.
    pub(crate) async fn pay(&self, id: &str) {
        let checkout = self.checkout(id, None).await;
        checkout.assert_status(StatusCode::OK);
        let checkout: CheckoutAnswer = checkout.json();
        let event = captured(
            &checkout.sandbox.unwrap().provider_order_id,
            &format!("pay_{id}"),
            checkout.amount.amount,
        );
        self.webhook("sandbox", SANDBOX_SECRET, &format!("evt_{id}"), &event)
            .await
            .assert_status(StatusCode::OK);
        assert_eq!(self.order(id).await.order.status, OrderStatus::Paid);
    }

    /// `GET /orders/{id}` as `token`'s owner... as an admin (who sees flags).
    pub(crate) async fn order(&self, id: &str) -> OrderView {
        let response = self
            .get(&format!("/orders/{id}"), Some(&self.admin()))
            .await;
        response.assert_status(StatusCode::OK);
        response.json()
    }
}
