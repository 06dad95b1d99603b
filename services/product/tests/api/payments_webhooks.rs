//! Webhooks at the edges: payments made outside our orders, refunds a
//! provider could not make, money paid against an earlier checkout of the
//! same order, and bodies too large to be read.

use http::StatusCode;
use product::domain::orders::OrderStatus;
use product::domain::orders::money_in::{CheckoutState, FlagKind, RefundState};
use product::domain::payments::CheckoutAnswer;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::orders::{listed, placed};
use crate::paying::{SANDBOX_SECRET, captured, failed, hmac_hex};

fn provider_order(c: &CheckoutAnswer) -> String {
    c.sandbox.as_ref().unwrap().provider_order_id.clone()
}

/// A `refund.failed` event.
fn refund_failed(refund_id: &str, payment_id: &str, amount: i64) -> Value {
    json!({
        "entity": "event", "account_id": "acc_test", "event": "refund.failed",
        "contains": ["refund", "payment"],
        "payload": {"refund": {"entity": {
            "id": refund_id, "entity": "refund", "amount": amount, "currency": "INR",
            "payment_id": payment_id, "status": "failed"
        }}},
        "created_at": 1_767_000_000
    })
}

#[tokio::test]
async fn a_payment_made_outside_any_order_is_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    let mut link_payment = captured("x", "pay_link", 500);
    link_payment["payload"]["payment"]["entity"]["order_id"] = Value::Null;
    let answer = app
        .webhook("sandbox", SANDBOX_SECRET, "evt_link", &link_payment)
        .await;
    answer.assert_status(StatusCode::OK);
    assert_eq!(answer.body["outcome"], "ignored");
}

#[tokio::test]
async fn money_paid_against_an_earlier_checkout_of_the_order_pays_it() {
    let app = TestApp::spawn().await;
    let order = placed(&app, &listed(&app).await, "o-1").await;
    let first: CheckoutAnswer = app.checkout(&order.id, None).await.json();
    app.webhook(
        "sandbox",
        SANDBOX_SECRET,
        "evt_f",
        &failed(&provider_order(&first), "pay_f", 249_900),
    )
    .await
    .assert_status(StatusCode::OK);
    let second: CheckoutAnswer = app.checkout(&order.id, None).await.json();
    assert_ne!(provider_order(&first), provider_order(&second));

    // The first attempt went through after all (a bank's late answer).
    app.webhook(
        "sandbox",
        SANDBOX_SECRET,
        "evt_late_ok",
        &captured(&provider_order(&first), "pay_first", 249_900),
    )
    .await
    .assert_status(StatusCode::OK);
    let o = app.order(&order.id).await.order;
    assert_eq!(o.status, OrderStatus::Paid);
    let checkout = o.checkout.unwrap();
    assert_eq!(checkout.provider_order_id, provider_order(&first));
    assert_eq!(checkout.state, CheckoutState::Captured);
    assert!(o.flags.is_empty());

    // Money on the second one as well is a duplicate: flagged, given back.
    app.webhook(
        "sandbox",
        SANDBOX_SECRET,
        "evt_second",
        &captured(&provider_order(&second), "pay_second", 249_900),
    )
    .await
    .assert_status(StatusCode::OK);
    let o = app.order(&order.id).await.order;
    assert_eq!(o.receipts.len(), 1);
    assert_eq!(o.flags[0].kind, FlagKind::DuplicatePayment);
    assert_eq!(o.refunds[0].payment_id, "pay_second");
    let paid_events = app
        .outbox()
        .await
        .iter()
        .filter(|e| e.event_type == "order.paid")
        .count();
    assert_eq!(paid_events, 1);
}

#[tokio::test]
async fn a_refund_the_provider_could_not_make_is_failed_and_flagged_for_an_admin() {
    let app = TestApp::spawn().await;
    let order = placed(&app, &listed(&app).await, "o-1").await;
    app.pay(&order.id).await;
    app.move_order(&app.buyer(), &order.id, "cancelled")
        .await
        .assert_status(StatusCode::OK);
    let paid_with = app.order(&order.id).await.order.receipts[0]
        .payment_id
        .clone();
    app.webhook(
        "sandbox",
        SANDBOX_SECRET,
        "evt_rf",
        &refund_failed("rfnd_1", &paid_with, 249_900),
    )
    .await
    .assert_status(StatusCode::OK);

    let o = app.order(&order.id).await.order;
    assert_eq!(o.refunds[0].state, RefundState::Failed);
    assert!(!o.refund_due, "not asked again: an admin settles it");
    assert_eq!(o.flags.last().unwrap().kind, FlagKind::RefundFailed);
    assert!(o.refunds[0].last_error.is_some());
    let buyers_view = app
        .get(&format!("/orders/{}", order.id), Some(&app.buyer()))
        .await;
    assert_eq!(buyers_view.body["refunds"][0]["state"], "failed");
    assert_eq!(
        buyers_view.body["refunds"][0]["last_error"],
        Value::Null,
        "providers' error texts are for admins"
    );
}

#[tokio::test]
async fn a_webhook_body_over_the_limit_is_refused_unread() {
    let app = TestApp::spawn().await;
    let order = placed(&app, &listed(&app).await, "o-1").await;
    let c: CheckoutAnswer = app.checkout(&order.id, None).await.json();
    let mut event = captured(&provider_order(&c), "pay_big", 249_900);
    event["padding"] = json!("x".repeat(70 * 1024));
    let body = serde_json::to_vec(&event).unwrap();
    let signature = hmac_hex(SANDBOX_SECRET, &body);
    app.webhook_raw("sandbox", "evt_big", &body, Some(&signature))
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(app.order(&order.id).await.order.status, OrderStatus::Placed);
}
