//! Paying orders: split by basis points, exactly once.

use alloy::primitives::U256;
use blockchain::config::{ANVIL_COOPERATIVE, ANVIL_PLATFORM};
use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_payment_splits_by_basis_points_and_a_retry_answers_the_same_payment() {
    let app = TestApp::spawn().await;
    let d = app.deployment().await;
    let artisan = address(ARTISAN_WALLET);
    app.received("ord-1", 250_001).await;
    let paid = app
        .post(
            "/blockchain/execute-payment",
            &app.admin(),
            &payment("ord-1", 250_001),
        )
        .await;
    paid.assert_status(StatusCode::CREATED);
    let p: Value = paid.json();
    assert_eq!(p["state"], "confirmed");
    assert_eq!(
        p["shares"]["artisan"],
        json!({"amount": 225_001, "currency": "INR"})
    );
    assert_eq!(
        p["shares"]["cooperative"],
        json!({"amount": 12_500, "currency": "INR"})
    );
    assert_eq!(
        p["shares"]["platform"],
        json!({"amount": 12_500, "currency": "INR"})
    );
    assert_eq!(
        app.token_balance(d.payment_token, artisan).await,
        U256::from(225_001)
    );
    assert_eq!(
        app.token_balance(d.payment_token, ANVIL_COOPERATIVE).await,
        U256::from(12_500)
    );
    assert_eq!(
        app.token_balance(d.payment_token, ANVIL_PLATFORM).await,
        U256::from(12_500)
    );

    let again = app
        .post(
            "/blockchain/execute-payment",
            &app.admin(),
            &payment("ord-1", 250_001),
        )
        .await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.json::<Value>()["tx_hash"], p["tx_hash"]);
    assert_eq!(app.payment_events(d.fair_pay, "ord-1").await, 1);
    assert_eq!(
        app.token_balance(d.payment_token, artisan).await,
        U256::from(225_001)
    );

    // The same order with other terms is refused, and pays nothing.
    let other = app
        .post(
            "/blockchain/execute-payment",
            &app.admin(),
            &payment("ord-1", 999),
        )
        .await;
    let problem = other.assert_problem(StatusCode::CONFLICT, "payment_conflict");
    assert_eq!(problem.extensions["payment"]["tx_hash"], p["tx_hash"]);

    let read = app
        .get("/blockchain/payments/ord-1", Some(&app.admin()))
        .await;
    read.assert_status(StatusCode::OK);
    assert_eq!(read.json::<Value>()["state"], "confirmed");

    // The wallet endpoint shows the balance and the payout.
    let w = app
        .get(
            &format!("/blockchain/wallet/{ARTISAN_WALLET}/balance"),
            Some(&app.artisan()),
        )
        .await;
    w.assert_status(StatusCode::OK);
    let w: Value = w.json();
    assert_eq!(w["tokens"][0]["balance"], "225001");
    assert_eq!(w["tokens"][0]["symbol"], "dINR");
    assert_eq!(w["tokens"][0]["decimals"], 2);
    assert_eq!(w["recent"][0]["kind"], "payout");
    assert_eq!(w["recent"][0]["amount"], "225001");
    assert_eq!(w["recent"][0]["tx_hash"], p["tx_hash"]);
    assert!(w["native_balance"].as_str().is_some());
}

#[tokio::test]
async fn twenty_concurrent_duplicates_pay_once() {
    let app = TestApp::spawn().await;
    let d = app.deployment().await;
    let token = app.admin();
    app.received("ord-race", 100_000).await;
    let body = payment("ord-race", 100_000);
    let requests = (0..20).map(|_| app.post("/blockchain/execute-payment", &token, &body));
    let answers = futures::future::join_all(requests).await;
    let mut created = 0;
    for a in &answers {
        match a.status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK | StatusCode::ACCEPTED => {}
            // Arrived before the first request had signed: ask again later.
            StatusCode::CONFLICT => {
                assert_eq!(a.problem().code, "payment_in_progress", "{}", a.text());
                assert!(a.header("retry-after").is_some());
            }
            other => panic!("unexpected {other}: {}", a.text()),
        }
    }
    assert_eq!(created, 1, "exactly one request paid");
    testkit::eventually(
        std::time::Duration::from_secs(10),
        "the payment confirmed",
        || async {
            let p: Value = app
                .get("/blockchain/payments/ord-race", Some(&token))
                .await
                .json();
            (p["state"] == "confirmed").then_some(())
        },
    )
    .await
    .expect("confirmed");
    assert_eq!(app.payment_events(d.fair_pay, "ord-race").await, 1);
    assert_eq!(
        app.token_balance(d.payment_token, address(ARTISAN_WALLET))
            .await,
        U256::from(90_000)
    );
}

#[tokio::test]
async fn who_may_pay_and_what_is_invalid() {
    let app = TestApp::spawn().await;
    let buyer = app.token(BUYER, common::Role::Buyer);
    app.post("/blockchain/execute-payment", &buyer, &payment("o1", 100))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.post(
        "/blockchain/execute-payment",
        &app.artisan(),
        &payment("o1", 100),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let service = app.token("svc-product", common::Role::Service);

    let mut bad_wallet = payment("o1", 100);
    bad_wallet["artisan_wallet"] = json!("0x90f79bf6eb2c4f870365e785982e1f101e93b90X");
    app.post("/blockchain/execute-payment", &service, &bad_wallet)
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let mut bad_checksum = payment("o1", 100);
    bad_checksum["artisan_wallet"] = json!("0x90f79bf6eb2c4f870365e785982e1f101e93b906");
    app.post("/blockchain/execute-payment", &service, &bad_checksum)
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let mut bad_split = payment("o1", 100);
    bad_split["splits"]["platform_bps"] = json!(600);
    app.post("/blockchain/execute-payment", &service, &bad_split)
        .await
        .assert_invalid_fields(&["splits"]);
    app.post("/blockchain/execute-payment", &service, &payment("o1", 0))
        .await
        .assert_invalid_fields(&["amount.amount"]);
    app.post(
        "/blockchain/execute-payment",
        &service,
        &payment("bad id!", 10),
    )
    .await
    .assert_invalid_fields(&["order_id"]);
    let mut usd = payment("o1", 100);
    usd["amount"]["currency"] = json!("USD");
    app.post("/blockchain/execute-payment", &service, &usd)
        .await
        .assert_invalid_fields(&["amount.currency"]);
    // None of that recorded anything.
    app.get("/blockchain/payments/o1", Some(&service))
        .await
        .assert_status(StatusCode::NOT_FOUND);

    for bad in [
        "0x123",
        "nope",
        "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
    ] {
        app.get(
            &format!("/blockchain/wallet/{bad}/balance"),
            Some(&app.artisan()),
        )
        .await
        .assert_invalid_fields(&["address"]);
    }
    // Nothing was received for the order: nothing is paid, whoever asks.
    for token in [&service, &app.admin()] {
        app.post("/blockchain/execute-payment", token, &payment("o1", 100))
            .await
            .assert_problem(StatusCode::CONFLICT, "no_receipt");
    }
    app.received("o1", 100).await;
    app.post("/blockchain/execute-payment", &service, &payment("o1", 99))
        .await
        .assert_problem(StatusCode::CONFLICT, "amount_not_received");
    // The service role pays what was received.
    app.post("/blockchain/execute-payment", &service, &payment("o1", 100))
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn a_stopped_node_refuses_payments_with_503_and_records_nothing() {
    let mut app = TestApp::spawn().await;
    app.received("ord-down", 500).await;
    app.chain.stop().await;
    let down = app
        .post(
            "/blockchain/execute-payment",
            &app.admin(),
            &payment("ord-down", 500),
        )
        .await;
    down.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(down.header("retry-after").is_some());
    app.get("/blockchain/payments/ord-down", Some(&app.admin()))
        .await
        .assert_status(StatusCode::NOT_FOUND);

    app.chain.restart().await;
    let d = app.deployment().await;
    app.post(
        "/blockchain/execute-payment",
        &app.admin(),
        &payment("ord-down", 500),
    )
    .await
    .assert_status(StatusCode::CREATED);
    assert_eq!(app.payment_events(d.fair_pay, "ord-down").await, 1);
}

#[tokio::test]
async fn a_completed_order_waits_for_the_artisans_wallet_then_is_paid_once() {
    let app = TestApp::spawn_with(|s| s.wallet_retry_ms = 200).await;
    let d = app.deployment().await;
    app.received("ord-ev", 10_000).await;
    let completed = events::v1::OrderCompleted {
        order_id: "ord-ev".to_owned(),
        product_id: "p1".to_owned(),
        buyer_id: BUYER.to_owned(),
        artisan_id: ARTISAN.to_owned(),
        total: Some(events::v1::Money {
            amount: 10_000,
            currency: "INR".to_owned(),
        }),
        ..Default::default()
    };
    app.push("ev-1", "ord-ev", &completed)
        .await
        .assert_status(StatusCode::OK);
    // Delivered again (at least once), and a second event for the same order.
    app.push("ev-1", "ord-ev", &completed)
        .await
        .assert_status(StatusCode::OK);
    app.push("ev-2", "ord-ev", &completed)
        .await
        .assert_status(StatusCode::OK);

    let admin = app.admin();
    let url = "/blockchain/payments/ord-ev";
    testkit::eventually(
        std::time::Duration::from_secs(10),
        "waiting for a wallet",
        || async {
            let p: Value = app.get(url, Some(&admin)).await.json();
            (p["state"] == "awaiting_wallet").then_some(())
        },
    )
    .await
    .expect("awaiting the wallet");
    assert_eq!(app.payment_events(d.fair_pay, "ord-ev").await, 0);

    app.fakes
        .put_wallet(ARTISAN, ARTISAN_WALLET.parse().expect("a wallet"));
    let p: Value = testkit::eventually(std::time::Duration::from_secs(10), "paid", || async {
        let p: Value = app.get(url, Some(&admin)).await.json();
        (p["state"] == "confirmed").then_some(p)
    })
    .await
    .expect("confirmed");
    assert_eq!(p["artisan_wallet"], ARTISAN_WALLET);
    assert_eq!(
        p["shares"]["artisan"],
        json!({"amount": 9_000, "currency": "INR"})
    );
    assert_eq!(app.payment_events(d.fair_pay, "ord-ev").await, 1);
    assert_eq!(
        app.token_balance(d.payment_token, address(ARTISAN_WALLET))
            .await,
        U256::from(9_000)
    );
    let executed = app
        .outbox_types()
        .await
        .into_iter()
        .filter(|t| t == "payment.executed")
        .count();
    assert_eq!(executed, 1, "payment.executed published once");
}

#[tokio::test]
async fn a_payment_the_payer_cannot_fund_is_503_and_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    let d = app.deployment().await;
    // More than the platform holds: the token transfer inside would revert.
    app.received("ord-broke", 20_000_000_000).await;
    let too_much = payment("ord-broke", 20_000_000_000);
    let refused = app
        .post("/blockchain/execute-payment", &app.admin(), &too_much)
        .await;
    refused.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(refused.header("retry-after").is_some());
    app.get("/blockchain/payments/ord-broke", Some(&app.admin()))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert_eq!(app.payment_events(d.fair_pay, "ord-broke").await, 0);
}

#[tokio::test]
async fn a_restarted_service_keeps_its_contracts_and_its_payments() {
    let app = TestApp::spawn().await;
    let d = app.deployment().await;
    app.received("ord-restart", 1_000).await;
    let paid = app
        .post(
            "/blockchain/execute-payment",
            &app.admin(),
            &payment("ord-restart", 1_000),
        )
        .await;
    paid.assert_status(StatusCode::CREATED);

    let app = app.restart().await;
    let again = app.deployment().await;
    assert_eq!(
        (again.provenance, again.fair_pay, again.payment_token),
        (d.provenance, d.fair_pay, d.payment_token),
        "not deployed again"
    );
    let repeat = app
        .post(
            "/blockchain/execute-payment",
            &app.admin(),
            &payment("ord-restart", 1_000),
        )
        .await;
    repeat.assert_status(StatusCode::OK);
    assert_eq!(
        repeat.json::<Value>()["tx_hash"],
        paid.json::<Value>()["tx_hash"]
    );
    assert_eq!(app.payment_events(d.fair_pay, "ord-restart").await, 1);
}
