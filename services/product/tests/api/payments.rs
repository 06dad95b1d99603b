//! Money in: only a provider's verified confirmation of exactly the
//! order's total makes an order paid; everything else changes nothing, or
//! is flagged for an admin.

use events::v1::{OrderPaid, PaymentReceived};
use http::StatusCode;
use product::domain::orders::OrderStatus;
use product::domain::orders::money_in::{CheckoutState, FlagKind, RefundState};
use product::domain::payments::{CheckoutAnswer, ProviderName};
use serde_json::json;

use crate::helpers::TestApp;
use crate::orders::{listed, placed};
use crate::paying::{SANDBOX_SECRET, captured, failed, hmac_hex};

/// An order of one ₹2,499 stole, placed by BUYER, and its sandbox checkout.
async fn checked_out(app: &TestApp, key: &str) -> (String, CheckoutAnswer) {
    let order = placed(app, &listed(app).await, key).await;
    let checkout = app.checkout(&order.id, None).await;
    checkout.assert_status(StatusCode::OK);
    (order.id, checkout.json())
}

fn provider_order(c: &CheckoutAnswer) -> String {
    c.sandbox.as_ref().unwrap().provider_order_id.clone()
}

#[tokio::test]
async fn buyers_and_artisans_cannot_mark_an_order_paid_and_admins_only_with_a_reason() {
    let app = TestApp::spawn().await;
    let order = placed(&app, &listed(&app).await, "o-1").await;
    for token in [app.buyer(), app.artisan()] {
        app.move_order(&token, &order.id, "paid")
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    app.move_order(&app.admin(), &order.id, "paid")
        .await
        .assert_invalid_fields(&["reason"]);
    assert_eq!(app.order(&order.id).await.order.status, OrderStatus::Placed);

    let paid = app
        .post_json(
            &format!("/orders/{}/status", order.id),
            &json!({"status": "paid", "reason": "bank transfer UTR 4471 seen by finance"}),
            Some(&app.admin()),
        )
        .await;
    paid.assert_status(StatusCode::OK);
    let o = app.order(&order.id).await.order;
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.receipts.len(), 1);
    assert_eq!(o.receipts[0].provider, ProviderName::Manual);
    assert_eq!(o.receipts[0].amount, o.total);
    assert_eq!(
        o.receipts[0].reason.as_deref(),
        Some("bank transfer UTR 4471 seen by finance")
    );
    let outbox = app.outbox().await;
    let event = outbox
        .iter()
        .find(|e| e.event_type == "order.paid")
        .unwrap();
    let event: OrderPaid = crate::events::payload(event);
    assert_eq!(
        (event.provider.as_str(), event.reason.as_str()),
        ("manual", "bank transfer UTR 4471 seen by finance")
    );
}

#[tokio::test]
async fn a_checkout_is_for_exactly_the_total_of_a_placed_order_of_the_buyer() {
    let app = TestApp::spawn().await;
    let (id, c) = checked_out(&app, "o-1").await;
    assert_eq!(c.provider, ProviderName::Sandbox);
    assert_eq!(c.amount.amount, 249_900);
    assert_eq!(c.state, CheckoutState::Pending);
    let again: CheckoutAnswer = app.checkout(&id, None).await.json();
    assert_eq!(
        provider_order(&again),
        provider_order(&c),
        "the same pending payment"
    );

    let path = format!("/orders/{id}/checkout");
    app.post_json(&path, &json!({}), Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let stranger = app.token("buyer-stranger", common::Role::Buyer);
    app.post_json(&path, &json!({}), Some(&stranger))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.post_json(&path, &json!({"provider": "razorpay"}), Some(&app.buyer()))
        .await
        .assert_invalid_fields(&["provider"]);

    app.pay(&id).await;
    app.checkout(&id, None)
        .await
        .assert_problem(StatusCode::CONFLICT, "not_payable");
}

#[tokio::test]
async fn a_signed_capture_pays_the_order_once_however_often_it_arrives() {
    let app = TestApp::spawn().await;
    let (id, c) = checked_out(&app, "o-1").await;
    let event = captured(&provider_order(&c), "pay_1", 249_900);

    let first = app
        .webhook("sandbox", SANDBOX_SECRET, "evt_1", &event)
        .await;
    first.assert_status(StatusCode::OK);
    assert_eq!(first.body["outcome"], "applied");
    let again = app
        .webhook("sandbox", SANDBOX_SECRET, "evt_1", &event)
        .await;
    assert_eq!(again.body["outcome"], "duplicate");
    // The same payment under another event id: still one receipt.
    let copy = app
        .webhook("sandbox", SANDBOX_SECRET, "evt_1b", &event)
        .await;
    copy.assert_status(StatusCode::OK);

    let o = app.order(&id).await.order;
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.receipts.len(), 1);
    assert_eq!(o.receipts[0].payment_id, "pay_1");
    assert!(o.flags.is_empty(), "{:?}", o.flags);
    let paid: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == "order.paid")
        .collect();
    assert_eq!(paid.len(), 1);
    let event: OrderPaid = crate::events::payload(&paid[0]);
    assert_eq!(
        (event.provider.as_str(), event.payment_id.as_str()),
        ("sandbox", "pay_1")
    );
}

#[tokio::test]
async fn a_webhook_with_a_bad_or_missing_signature_changes_nothing() {
    let app = TestApp::spawn().await;
    let (id, c) = checked_out(&app, "o-1").await;
    let body = serde_json::to_vec(&captured(&provider_order(&c), "pay_1", 249_900)).unwrap();
    let wrong_key = hmac_hex("not-the-secret", &body);
    let mut tampered = body.clone();
    let at = tampered.len() - 3;
    tampered[at] = b'9';

    for (raw, signature) in [
        (&body, None),
        (&body, Some(wrong_key.as_str())),
        (&body, Some("zz-not-hex")),
        (&tampered, Some(hmac_hex(SANDBOX_SECRET, &body).as_str())),
    ] {
        app.webhook_raw("sandbox", "evt_x", raw, signature)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "invalid_signature");
    }
    let signed_nonsense = b"{\"not\": \"an event\"}";
    app.webhook_raw(
        "sandbox",
        "evt_y",
        signed_nonsense,
        Some(&hmac_hex(SANDBOX_SECRET, signed_nonsense)),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "malformed_webhook");
    app.webhook("razorpay", SANDBOX_SECRET, "evt_z", &json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let o = app.order(&id).await.order;
    assert_eq!(o.status, OrderStatus::Placed);
    assert!(o.receipts.is_empty());
    assert!(
        !app.outbox()
            .await
            .iter()
            .any(|e| e.event_type == "order.paid")
    );
}

#[tokio::test]
async fn an_amount_or_currency_mismatch_leaves_the_order_unpaid_flagged_and_refunded() {
    let app = TestApp::spawn().await;
    let (id, c) = checked_out(&app, "o-1").await;
    let mut usd = captured(&provider_order(&c), "pay_usd", 249_900);
    usd["payload"]["payment"]["entity"]["currency"] = json!("USD");
    app.webhook(
        "sandbox",
        SANDBOX_SECRET,
        "evt_1",
        &captured(&provider_order(&c), "pay_1", 100),
    )
    .await
    .assert_status(StatusCode::OK);
    app.webhook("sandbox", SANDBOX_SECRET, "evt_2", &usd)
        .await
        .assert_status(StatusCode::OK);

    let o = app.order(&id).await.order;
    assert_eq!(o.status, OrderStatus::Placed, "not paid");
    assert!(o.receipts.is_empty());
    let kinds: Vec<_> = o
        .flags
        .iter()
        .map(|f| (f.kind, f.stated_amount, f.stated_currency.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (FlagKind::AmountMismatch, 100, "INR"),
            (FlagKind::AmountMismatch, 249_900, "USD")
        ]
    );
    // Money the order cannot take goes back.
    let owed: Vec<_> = o
        .refunds
        .iter()
        .map(|r| (r.payment_id.as_str(), r.amount.amount, r.state))
        .collect();
    assert_eq!(owed[0], ("pay_1", 100, RefundState::Requested));
    assert!(o.refund_due);
    let buyers_view = app.get(&format!("/orders/{id}"), Some(&app.buyer())).await;
    assert_eq!(buyers_view.body["flags"], json!([]), "flags are for admins");
    assert!(
        !app.outbox()
            .await
            .iter()
            .any(|e| e.event_type == "order.paid")
    );
}

#[tokio::test]
async fn a_failed_attempt_reopens_the_checkout_and_a_late_failure_changes_nothing() {
    let app = TestApp::spawn().await;
    let (id, c) = checked_out(&app, "o-1").await;
    app.webhook(
        "sandbox",
        SANDBOX_SECRET,
        "evt_f",
        &failed(&provider_order(&c), "pay_f", 249_900),
    )
    .await
    .assert_status(StatusCode::OK);
    let o = app.order(&id).await.order;
    let checkout = o.checkout.unwrap();
    assert_eq!(checkout.state, CheckoutState::Failed);
    assert_eq!(
        checkout.failure.as_deref(),
        Some("Payment was declined by the bank")
    );

    let retry: CheckoutAnswer = app.checkout(&id, None).await.json();
    assert_ne!(provider_order(&retry), provider_order(&c), "a new payment");
    let pay = captured(&provider_order(&retry), "pay_2", 249_900);
    app.webhook("sandbox", SANDBOX_SECRET, "evt_ok", &pay)
        .await
        .assert_status(StatusCode::OK);
    let late = app
        .webhook(
            "sandbox",
            SANDBOX_SECRET,
            "evt_late",
            &failed(&provider_order(&retry), "pay_3", 249_900),
        )
        .await;
    assert_eq!(late.body["outcome"], "ignored");
    assert_eq!(app.order(&id).await.order.status, OrderStatus::Paid);
}

#[tokio::test]
async fn a_well_signed_webhook_about_no_order_of_ours_is_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    let answer = app
        .webhook(
            "sandbox",
            SANDBOX_SECRET,
            "evt_1",
            &captured("order_unknown", "pay_1", 500),
        )
        .await;
    answer.assert_status(StatusCode::OK);
    assert_eq!(answer.body["outcome"], "ignored");
    let other = json!({"entity": "event", "event": "settlement.processed", "payload": {}});
    let answer = app
        .webhook("sandbox", SANDBOX_SECRET, "evt_2", &other)
        .await;
    assert_eq!(answer.body["outcome"], "ignored");
}

#[tokio::test]
async fn an_escrow_deposit_of_the_total_pays_the_order_and_another_amount_does_not() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    let right = placed(&app, &product, "o-1").await;
    let wrong = placed(&app, &product, "o-2").await;
    for id in [&right.id, &wrong.id] {
        let c = app.checkout(id, Some("escrow")).await;
        c.assert_status(StatusCode::OK);
        let c: CheckoutAnswer = c.json();
        assert_eq!(c.escrow.unwrap().amount.amount, 249_900);
    }
    assert_eq!(app.escrow.expected.lock().unwrap().len(), 2);
    let deposit = |order_id: &str, amount: i64| PaymentReceived {
        order_id: order_id.to_owned(),
        provider: "escrow".to_owned(),
        payment_id: format!("0xdeposit-{order_id}:0"),
        amount: Some(common::Money::inr(amount).into()),
        payer: "0x90F79bf6EB2c4f870365E785982E1f101E93b906".to_owned(),
        tx_hash: "0xdeposit".to_owned(),
    };
    app.push("e-1", &right.id, &deposit(&right.id, 249_900))
        .await
        .assert_status(StatusCode::OK);
    app.push("e-2", &wrong.id, &deposit(&wrong.id, 1_000))
        .await
        .assert_status(StatusCode::OK);

    let paid = app.order(&right.id).await.order;
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.receipts[0].provider, ProviderName::Escrow);
    let unpaid = app.order(&wrong.id).await.order;
    assert_eq!(unpaid.status, OrderStatus::Placed);
    assert_eq!(unpaid.flags[0].kind, FlagKind::AmountMismatch);
}

#[tokio::test]
async fn a_checkout_signature_is_checked_but_only_a_webhook_makes_the_order_paid() {
    let app = TestApp::spawn().await;
    let (id, c) = checked_out(&app, "o-1").await;
    let provider_order_id = provider_order(&c);
    let message = format!("{provider_order_id}|pay_77");
    let path = format!("/orders/{id}/checkout/confirm");
    let body = |signature: &str| {
        json!({"razorpay_payment_id": "pay_77", "razorpay_order_id": provider_order_id,
               "razorpay_signature": signature})
    };
    let good = app
        .post_json(
            &path,
            &body(&hmac_hex(SANDBOX_SECRET, message.as_bytes())),
            Some(&app.buyer()),
        )
        .await;
    good.assert_status(StatusCode::OK);
    assert_eq!(good.body["verified"], true);
    let forged = hmac_hex("not-the-secret", message.as_bytes());
    app.post_json(&path, &body(&forged), Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_signature");
    assert_eq!(
        app.order(&id).await.order.status,
        OrderStatus::Placed,
        "still waiting for the money"
    );
}
