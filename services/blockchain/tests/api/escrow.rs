//! The escrow on a real anvil: a buyer's deposit is seen and announced,
//! the payout of a completed order is exactly the deposit, a cancelled
//! order's deposit goes back to its buyer, once, and so does a deposit for
//! an order paid another way; nothing is paid out for an order with no
//! receipt until one arrives.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall as _;
use blockchain::config::ANVIL_COOPERATIVE;
use blockchain::domain::chain::Chain;
use blockchain::domain::contracts::{DevRupee, FairPay};
use blockchain::domain::escrow::EscrowTerms;
use events::v1::{OrderCancelled, OrderCompleted, PaymentReceived, PaymentRefunded};
use http::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

use crate::helpers::*;

/// anvil's fifth dev account: the buyer's wallet in these tests.
const BUYER_KEY: &str = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const BUYER_WALLET: &str = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const WAIT: Duration = Duration::from_secs(15);

/// The product service's call at checkout: terms for `order_id`.
async fn expect(app: &TestApp, order_id: &str, paise: i64) -> EscrowTerms {
    let service = app.token("svc-product", common::Role::Service);
    let answer = app
        .post(
            "/blockchain/escrow/orders",
            &service,
            &json!({"order_id": order_id, "amount": {"amount": paise, "currency": "INR"}}),
        )
        .await;
    answer.assert_status(StatusCode::OK);
    answer.json()
}

/// The buyer's wallet approves and deposits `units` against `terms`.
async fn deposit(app: &TestApp, terms: &EscrowTerms, units: u64) {
    let mut settings = blockchain::Settings::default().chain;
    settings.receipt_timeout_ms = 5_000;
    let buyer = Chain::new(app.chain.url(), &BUYER_KEY.to_owned().into(), &settings).unwrap();
    let token: Address = terms.token.parse().unwrap();
    let contract: Address = terms.contract.parse().unwrap();
    let approve = DevRupee::approveCall {
        spender: contract,
        value: U256::MAX,
    };
    assert!(
        buyer
            .transact(Some(token), approve.abi_encode().into())
            .await
            .unwrap()
            .succeeded()
    );
    let call = FairPay::depositCall {
        orderId: terms.order_key.parse().unwrap(),
        token,
        amount: U256::from(units),
    };
    assert!(
        buyer
            .transact(Some(contract), call.abi_encode().into())
            .await
            .unwrap()
            .succeeded()
    );
}

/// Test rupees for the buyer from the dev faucet.
async fn fund_buyer(app: &TestApp, paise: i64) {
    let buyer = app.token(BUYER, common::Role::Buyer);
    app.post(
        "/blockchain/faucet",
        &buyer,
        &json!({"address": BUYER_WALLET, "amount": paise}),
    )
    .await
    .assert_status(StatusCode::OK);
}

/// The events of type `E` in the outbox.
async fn published<E: events::Event>(app: &TestApp) -> Vec<E> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == E::TYPE)
        .map(|e| {
            let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &e.data)
                .unwrap();
            let envelope = events::Received::from_bytes(&data).unwrap();
            envelope.decode::<E>().unwrap()
        })
        .collect()
}

fn completed(order_id: &str, paise: i64) -> OrderCompleted {
    OrderCompleted {
        order_id: order_id.to_owned(),
        product_id: "p1".to_owned(),
        buyer_id: BUYER.to_owned(),
        artisan_id: ARTISAN.to_owned(),
        total: Some(common::money::Money::inr(paise).into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_completed_escrowed_order_pays_out_exactly_its_deposit() {
    let app = TestApp::spawn().await;
    app.fakes
        .put_wallet(ARTISAN, ARTISAN_WALLET.parse().unwrap());
    let d = app.deployment().await;
    fund_buyer(&app, 500_000).await;
    let terms = expect(&app, "ord-esc", 250_001).await;
    assert_eq!(terms.token_amount, "250001");
    assert_eq!(terms.chain_id, 31337);
    deposit(&app, &terms, 250_001).await;

    let received: PaymentReceived = testkit::eventually(WAIT, "the deposit announced", || async {
        published::<PaymentReceived>(&app).await.into_iter().next()
    })
    .await
    .unwrap();
    assert_eq!(received.order_id, "ord-esc");
    assert_eq!(received.amount.unwrap().amount, 250_001);
    assert_eq!(received.payer, BUYER_WALLET);

    // Completed before the product service's word that it is paid (events
    // are not ordered): it waits for the receipt.
    app.push("done-1", "ord-esc", &completed("ord-esc", 250_001))
        .await
        .assert_status(StatusCode::OK);
    let p: Value = app
        .get("/blockchain/payments/ord-esc", Some(&app.admin()))
        .await
        .json();
    assert_eq!(p["state"], "awaiting_receipt", "{p}");
    app.paid_by("ord-esc", 250_001, "escrow").await;
    let p: Value = testkit::eventually(WAIT, "the payout", || async {
        let p: Value = app
            .get("/blockchain/payments/ord-esc", Some(&app.admin()))
            .await
            .json();
        (p["state"] == "confirmed").then_some(p)
    })
    .await
    .unwrap();
    let artisan = app
        .token_balance(d.payment_token, address(ARTISAN_WALLET))
        .await;
    let coop = app.token_balance(d.payment_token, ANVIL_COOPERATIVE).await;
    assert_eq!(artisan, U256::from(225_001));
    assert_eq!(coop, U256::from(12_500));
    assert_eq!(
        p["shares"]["platform"],
        json!({"amount": 12_500, "currency": "INR"})
    );
    assert_eq!(
        artisan + coop + U256::from(12_500),
        U256::from(250_001),
        "the payouts are the deposit"
    );
    assert_eq!(
        app.token_balance(d.payment_token, d.fair_pay).await,
        U256::ZERO,
        "nothing left in escrow"
    );
    assert_eq!(app.payment_events(d.fair_pay, "ord-esc").await, 1);
}

#[tokio::test]
async fn a_cancelled_escrowed_order_is_refunded_to_its_buyer_once() {
    let app = TestApp::spawn().await;
    let d = app.deployment().await;
    fund_buyer(&app, 100_000).await;
    let buyer = address(BUYER_WALLET);
    let terms = expect(&app, "ord-cancel", 40_000).await;
    deposit(&app, &terms, 40_000).await;
    assert_eq!(
        app.token_balance(d.payment_token, buyer).await,
        U256::from(60_000)
    );

    let cancelled = OrderCancelled {
        order_id: "ord-cancel".to_owned(),
        buyer_id: BUYER.to_owned(),
        artisan_id: ARTISAN.to_owned(),
        reason: "buyer".to_owned(),
        refund: Some(common::money::Money::inr(40_000).into()),
        provider: "escrow".to_owned(),
    };
    app.push("c-1", "ord-cancel", &cancelled)
        .await
        .assert_status(StatusCode::OK);
    app.push("c-2", "ord-cancel", &cancelled)
        .await
        .assert_status(StatusCode::OK);
    let refunded: PaymentRefunded = testkit::eventually(WAIT, "the refund", || async {
        published::<PaymentRefunded>(&app).await.into_iter().next()
    })
    .await
    .unwrap();
    assert_eq!(refunded.amount.unwrap().amount, 40_000);
    assert_eq!(
        app.token_balance(d.payment_token, buyer).await,
        U256::from(100_000),
        "all of it back"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        published::<PaymentRefunded>(&app).await.len(),
        1,
        "refunded once"
    );

    // Completing it now pays nothing: the order was cancelled.
    app.push("done-1", "ord-cancel", &completed("ord-cancel", 40_000))
        .await
        .assert_status(StatusCode::OK);
    let p: Value = app
        .get("/blockchain/payments/ord-cancel", Some(&app.admin()))
        .await
        .json();
    assert_eq!(p["state"], "failed");
    assert!(
        p["last_error"].as_str().unwrap().contains("cancelled"),
        "{p}"
    );
    assert_eq!(app.payment_events(d.fair_pay, "ord-cancel").await, 0);
    // And the contract itself refuses a second refund or a release.
    let refund = FairPay::refundCall {
        orderId: terms.order_key.parse().unwrap(),
    };
    let again = app.chain_call(d.fair_pay, refund.abi_encode()).await;
    assert!(again.is_err(), "a second refund reverts on chain");
}

#[tokio::test]
async fn a_deposit_of_another_amount_is_announced_as_it_is() {
    let app = TestApp::spawn().await;
    fund_buyer(&app, 100_000).await;
    let terms = expect(&app, "ord-short", 40_000).await;
    deposit(&app, &terms, 39_999).await;
    let received: PaymentReceived = testkit::eventually(WAIT, "the deposit announced", || async {
        published::<PaymentReceived>(&app).await.into_iter().next()
    })
    .await
    .unwrap();
    assert_eq!(
        received.amount.unwrap().amount,
        39_999,
        "the product service judges it"
    );
    let service = app.token("svc-product", common::Role::Service);
    app.post(
        "/blockchain/escrow/orders",
        &service,
        &json!({"order_id": "ord-short", "amount": {"amount": 1, "currency": "INR"}}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "escrow_terms_changed");
}

#[tokio::test]
async fn an_order_completed_with_no_receipt_pays_nothing_out_until_one_arrives() {
    let app = TestApp::spawn().await;
    app.fakes
        .put_wallet(ARTISAN, ARTISAN_WALLET.parse().unwrap());
    let d = app.deployment().await;
    app.push("done-1", "ord-free", &completed("ord-free", 10_000_000))
        .await
        .assert_status(StatusCode::OK);
    let p: Value = app
        .get("/blockchain/payments/ord-free", Some(&app.admin()))
        .await
        .json();
    assert_eq!(p["state"], "awaiting_receipt", "{p}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.payment_events(d.fair_pay, "ord-free").await, 0);
    assert_eq!(
        app.token_balance(d.payment_token, address(ARTISAN_WALLET))
            .await,
        U256::ZERO
    );
    // The receipt: what it says was received is paid, not the order's total.
    app.received("ord-free", 9_000).await;
    testkit::eventually(WAIT, "the payout", || async {
        let p: Value = app
            .get("/blockchain/payments/ord-free", Some(&app.admin()))
            .await
            .json();
        (p["state"] == "confirmed").then_some(())
    })
    .await
    .unwrap();
    assert_eq!(
        app.token_balance(d.payment_token, address(ARTISAN_WALLET))
            .await,
        U256::from(8_100)
    );
}

#[tokio::test]
async fn a_deposit_for_an_order_paid_another_way_goes_back_to_its_buyer() {
    let app = TestApp::spawn().await;
    let d = app.deployment().await;
    fund_buyer(&app, 50_000).await;
    let terms = expect(&app, "ord-twice", 30_000).await;
    // Paid by card first; the buyer's wallet deposits as well.
    app.received("ord-twice", 30_000).await;
    deposit(&app, &terms, 30_000).await;
    let refunded: PaymentRefunded = testkit::eventually(WAIT, "the refund", || async {
        published::<PaymentRefunded>(&app).await.into_iter().next()
    })
    .await
    .unwrap();
    assert_eq!(refunded.order_id, "ord-twice");
    assert_eq!(
        app.token_balance(d.payment_token, address(BUYER_WALLET))
            .await,
        U256::from(50_000),
        "the deposit is back"
    );
}

#[tokio::test]
async fn an_escrow_payment_never_seen_on_chain_is_refused() {
    let app = TestApp::spawn().await;
    let event = events::v1::OrderPaid {
        order_id: "ord-ghost".to_owned(),
        buyer_id: BUYER.to_owned(),
        artisan_id: ARTISAN.to_owned(),
        total: Some(common::money::Money::inr(100).into()),
        provider: "escrow".to_owned(),
        payment_id: "0xabc:0".to_owned(),
        received: Some(common::money::Money::inr(100).into()),
        reason: String::new(),
    };
    app.push("paid-ghost", "ord-ghost", &event)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "event_rejected");
    app.push("done-ghost", "ord-ghost", &completed("ord-ghost", 100))
        .await
        .assert_status(StatusCode::OK);
    let p: Value = app
        .get("/blockchain/payments/ord-ghost", Some(&app.admin()))
        .await
        .json();
    assert_eq!(p["state"], "awaiting_receipt", "{p}");
}
