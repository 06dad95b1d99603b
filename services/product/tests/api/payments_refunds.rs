//! Money going back, and orders left unpaid, with the service running its
//! sweep; the sandbox delivering its own webhooks over HTTP; and Razorpay
//! spoken to as its documentation says, through a stand-in that checks
//! each request.

use std::time::Duration;

use events::v1::OrderCancelled;
use http::StatusCode;
use product::domain::orders::OrderStatus;
use product::domain::orders::money_in::{FlagKind, RefundState};
use product::domain::payments::CheckoutAnswer;
use product::domain::payments::razorpay::RazorpayConfig;
use serde_json::json;
use testkit::{TestService, eventually};
use wiremock::matchers::{basic_auth, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::TestApp;
use crate::orders::{listed, placed};
use crate::paying::{SANDBOX_SECRET, captured, refund_processed};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_sandbox_succeeds_a_payment_by_delivering_a_signed_webhook_to_the_service() {
    let app = TestApp::serve().await;
    let order = placed(&app, &listed(&app).await, "o-1").await;
    let checkout: CheckoutAnswer = app.checkout(&order.id, None).await.json();
    let sandbox = checkout.sandbox.unwrap();

    let stranger = app.token("buyer-stranger", common::Role::Buyer);
    app.post_json(&sandbox.succeed, &json!({}), Some(&stranger))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let delivered = app
        .post_json(&sandbox.succeed, &json!({}), Some(&app.buyer()))
        .await;
    delivered.assert_status(StatusCode::OK);
    assert_eq!(delivered.body["webhook_status"], 200);
    assert_eq!(app.order(&order.id).await.order.status, OrderStatus::Paid);
    app.post_json(&sandbox.succeed, &json!({}), Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::CONFLICT, "not_payable");
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_through_its_provider_once() {
    let app = TestApp::serve().await;
    let order = placed(&app, &listed(&app).await, "o-1").await;
    app.pay(&order.id).await;

    app.move_order(&app.buyer(), &order.id, "cancelled")
        .await
        .assert_status(StatusCode::OK);
    let refunded = eventually(WAIT, "the refund", || async {
        let o = app.order(&order.id).await.order;
        (o.refunds.first()?.state == RefundState::Processed).then_some(o)
    })
    .await
    .unwrap();
    assert_eq!(refunded.refunds.len(), 1, "refunded once");
    assert_eq!(refunded.refunds[0].amount, refunded.total);
    assert!(refunded.refunds[0].refund_id.is_some());
    assert!(!refunded.refund_due);
    assert_eq!(refunded.cancel_reason.as_deref(), Some("buyer"));
    let outbox = app.outbox().await;
    let cancelled = outbox
        .iter()
        .find(|e| e.event_type == "order.cancelled")
        .unwrap();
    let cancelled: OrderCancelled = crate::events::payload(cancelled);
    assert_eq!(cancelled.refund, Some(refunded.total.into()));
    assert_eq!(cancelled.provider, "sandbox");
}

#[tokio::test]
async fn an_unpaid_order_expires_and_money_arriving_late_is_flagged_and_refunded() {
    // Placed and checked out in process, so no sweep runs before the
    // checkout, which has three seconds before the order expires; then
    // served, so that the sweep expires it.
    let builder = TestService::builder(product::NAME);
    let app = TestApp::start_with(builder, |s| s.payments.unpaid_expiry_secs = 3).await;
    let order = placed(&app, &listed(&app).await, "o-1").await;
    let checkout = app.checkout(&order.id, None).await;
    checkout.assert_status(StatusCode::OK);
    let checkout: CheckoutAnswer = checkout.json();
    let app = app.restart_served().await;

    let expired = eventually(WAIT, "the expiry", || async {
        let o = app.order(&order.id).await.order;
        (o.status == OrderStatus::Cancelled).then_some(o)
    })
    .await
    .unwrap();
    assert_eq!(expired.cancel_reason.as_deref(), Some("expired"));
    assert!(expired.refunds.is_empty(), "nothing was received");

    let late = captured(
        &checkout.sandbox.unwrap().provider_order_id,
        "pay_late",
        249_900,
    );
    app.webhook("sandbox", SANDBOX_SECRET, "evt_late", &late)
        .await
        .assert_status(StatusCode::OK);
    let settled = eventually(WAIT, "the late payment's refund", || async {
        let o = app.order(&order.id).await.order;
        (o.refunds.first()?.state == RefundState::Processed).then_some(o)
    })
    .await
    .unwrap();
    assert_eq!(settled.status, OrderStatus::Cancelled, "still cancelled");
    assert_eq!(settled.flags[0].kind, FlagKind::PaidAfterCancellation);
    assert_eq!(settled.refunds[0].payment_id, "pay_late");
    assert!(settled.receipts.is_empty());
}

/// Razorpay's keys in these tests.
const KEY_ID: &str = "rzp_test_1DP5mmOlF5G5ag";
const KEY_SECRET: &str = "thisisthekeysecret";
const WEBHOOK_SECRET: &str = "thisisthewebhooksecret";

#[tokio::test]
async fn razorpay_is_asked_for_an_order_and_a_refund_as_documented() {
    let razorpay = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/orders"))
        .and(basic_auth(KEY_ID, KEY_SECRET))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "order_IluGWxBm9U8zJ8", "entity": "order", "amount": 249_900,
            "amount_paid": 0, "amount_due": 249_900, "currency": "INR",
            "receipt": "r", "status": "created", "attempts": 0, "created_at": 1_767_000_000
        })))
        .expect(1)
        .mount(&razorpay)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payments/pay_29QQoUBi66xm2f/refund"))
        .and(basic_auth(KEY_ID, KEY_SECRET))
        .and(header_exists("x-refund-idempotency"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "rfnd_FP8QHiV938haTz", "entity": "refund", "amount": 249_900,
            "currency": "INR", "payment_id": "pay_29QQoUBi66xm2f", "status": "pending"
        })))
        .expect(1)
        .mount(&razorpay)
        .await;
    let api_url = razorpay.uri().parse::<url::Url>().unwrap();
    let app = TestApp::serve_with(move |s| {
        s.payments.provider = product::config::CardProvider::Razorpay;
        s.payments.razorpay = Some(RazorpayConfig {
            api_url: api_url.clone(),
            key_id: KEY_ID.to_owned(),
            key_secret: KEY_SECRET.to_owned().into(),
            webhook_secret: WEBHOOK_SECRET.to_owned().into(),
        });
    })
    .await;
    let order = placed(&app, &listed(&app).await, "o-1").await;

    let checkout = app.checkout(&order.id, None).await;
    checkout.assert_status(StatusCode::OK);
    let checkout: CheckoutAnswer = checkout.json();
    let options = checkout.razorpay.unwrap();
    assert_eq!(
        (options.key_id.as_str(), options.order_id.as_str()),
        (KEY_ID, "order_IluGWxBm9U8zJ8")
    );
    let sent = &razorpay.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["amount"], 249_900);
    assert_eq!(body["currency"], "INR");
    assert_eq!(body["receipt"], order.id.as_str());

    // Signed with the sandbox's secret, Razorpay's route refuses it.
    let capture = captured("order_IluGWxBm9U8zJ8", "pay_29QQoUBi66xm2f", 249_900);
    app.webhook("razorpay", SANDBOX_SECRET, "evt_1", &capture)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_signature");
    app.webhook("razorpay", WEBHOOK_SECRET, "evt_1", &capture)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(app.order(&order.id).await.order.status, OrderStatus::Paid);

    app.move_order(&app.artisan(), &order.id, "cancelled")
        .await
        .assert_status(StatusCode::OK);
    let pending = eventually(WAIT, "the refund asked of Razorpay", || async {
        let o = app.order(&order.id).await.order;
        (o.refunds.first()?.state == RefundState::Pending).then_some(o)
    })
    .await
    .unwrap();
    let refund = &razorpay.received_requests().await.unwrap()[1];
    let body: serde_json::Value = serde_json::from_slice(&refund.body).unwrap();
    assert_eq!(body["amount"], 249_900);
    assert_eq!(
        refund.headers["x-refund-idempotency"],
        pending.refunds[0].key.as_str(),
        "the refund is named, so asking again refunds once"
    );
    let processed = refund_processed("rfnd_FP8QHiV938haTz", "pay_29QQoUBi66xm2f", 249_900);
    app.webhook("razorpay", WEBHOOK_SECRET, "evt_2", &processed)
        .await
        .assert_status(StatusCode::OK);
    let o = app.order(&order.id).await.order;
    assert_eq!(o.refunds[0].state, RefundState::Processed);
    assert_eq!(
        o.refunds[0].refund_id.as_deref(),
        Some("rfnd_FP8QHiV938haTz")
    );
    // The checkout's order call and one refund: `expect(1)` each.
    razorpay.verify().await;
}
