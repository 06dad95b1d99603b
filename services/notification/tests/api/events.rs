//! Events become messages, each once, in each user's language.

use events::v1::{Money, OrderPaid, OrderPlaced, PaymentExecuted, UserRegistered};
use http::StatusCode;
use serde_json::Value;
use testkit::users::{ARTISAN, BUYER};

use crate::helpers::spawn;

fn inr(paise: i64) -> Option<Money> {
    Some(Money {
        amount: paise,
        currency: "INR".into(),
    })
}

/// Every message of `user`, newest first.
async fn log(app: &crate::helpers::TestApp, user: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/notifications?user_id={user}"),
            Some(&app.admin()),
        )
        .await;
    r.assert_status(StatusCode::OK);
    r.json::<Value>()["items"].as_array().unwrap().clone()
}

/// Wait until every message of `user` is settled; them.
async fn settled_log(app: &crate::helpers::TestApp, user: &str) -> Vec<Value> {
    for _ in 0..200 {
        let items = log(app, user).await;
        if items
            .iter()
            .all(|m| !matches!(m["status"].as_str(), Some("queued" | "sending")))
        {
            return items;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "{user}'s messages never settled: {:?}",
        log(app, user).await
    );
}

#[tokio::test]
async fn an_order_and_its_payment_tell_buyer_and_artisan_once_each_in_their_language() {
    let app = spawn().await;
    let registered = |user: &str, name: &str, email: &str, languages: &[&str]| UserRegistered {
        user_id: user.into(),
        email: email.into(),
        display_name: name.into(),
        role: "buyer".into(),
        languages: languages.iter().map(|l| (*l).to_owned()).collect(),
        region: "Karnataka".into(),
    };
    app.push(
        "e-u1",
        BUYER,
        &registered(BUYER, "Anita", "anita@example.in", &["kn", "hi"]),
    )
    .await
    .assert_status(StatusCode::OK);
    app.push(
        "e-u2",
        ARTISAN,
        &registered(ARTISAN, "Meera", "meera@example.in", &["bn"]),
    )
    .await
    .assert_status(StatusCode::OK);
    let placed = OrderPlaced {
        order_id: "ord-9".into(),
        product_id: "p-1".into(),
        buyer_id: BUYER.into(),
        artisan_id: ARTISAN.into(),
        quantity: 2,
        total: inr(250_000),
        ..Default::default()
    };
    for _ in 0..2 {
        app.push("e-placed", "ord-9", &placed)
            .await
            .assert_status(StatusCode::OK);
    }
    let paid = OrderPaid {
        order_id: "ord-9".into(),
        buyer_id: BUYER.into(),
        artisan_id: ARTISAN.into(),
        total: inr(250_000),
        provider: "sandbox".into(),
        ..Default::default()
    };
    app.push("e-paid", "ord-9", &paid)
        .await
        .assert_status(StatusCode::OK);

    let buyer = settled_log(&app, BUYER).await;
    let templates: Vec<(&str, &str)> = buyer
        .iter()
        .map(|m| {
            (
                m["template"].as_str().unwrap(),
                m["channel"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("welcome", "in_app"),
        ("welcome", "email"),
        ("order_placed", "in_app"),
        ("order_placed", "email"),
        ("payment_confirmed", "in_app"),
        ("payment_confirmed", "email"),
    ] {
        assert_eq!(
            templates.iter().filter(|t| **t == expected).count(),
            1,
            "{expected:?} in {templates:?}"
        );
    }
    assert_eq!(buyer.len(), 6);
    assert!(
        buyer.iter().all(|m| m["status"] == "delivered"),
        "{buyer:?}"
    );
    let placed_msg = buyer
        .iter()
        .find(|m| m["template"] == "order_placed")
        .unwrap();
    assert_eq!(placed_msg["language"], "hi");
    assert!(placed_msg["body"].as_str().unwrap().contains("₹2,500.00"));

    let artisan = settled_log(&app, ARTISAN).await;
    let new_order = artisan
        .iter()
        .find(|m| m["template"] == "new_order")
        .unwrap();
    assert_eq!(new_order["language"], "bn");
    assert_eq!(new_order["body"], "নতুন অর্ডার ord-9: 2টি, মোট ₹2,500.00।");
    assert!(artisan.iter().any(|m| m["template"] == "order_paid"));
}

#[tokio::test]
async fn a_payout_before_its_order_is_known_waits_and_is_then_told() {
    let app = spawn().await;
    let payout = PaymentExecuted {
        order_id: "ord-7".into(),
        tx_hash: "0xabc".into(),
        amount: inr(100_000),
        artisan_share: inr(90_000),
        ..Default::default()
    };
    app.push("e-pay", "ord-7", &payout)
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let placed = OrderPlaced {
        order_id: "ord-7".into(),
        buyer_id: BUYER.into(),
        artisan_id: ARTISAN.into(),
        quantity: 1,
        total: inr(100_000),
        ..Default::default()
    };
    app.push("e-placed-7", "ord-7", &placed)
        .await
        .assert_status(StatusCode::OK);
    app.push("e-pay", "ord-7", &payout)
        .await
        .assert_status(StatusCode::OK);
    let artisan = settled_log(&app, ARTISAN).await;
    let paid = artisan
        .iter()
        .find(|m| m["template"] == "payout_sent" && m["channel"] == "in_app")
        .unwrap();
    assert_eq!(
        paid["body"],
        "₹900.00 for order ord-7 has been paid to you (transaction 0xabc)."
    );
}

#[tokio::test]
async fn a_ready_weekly_report_is_emailed_where_its_subscription_says_with_a_link() {
    let app = spawn().await;
    app.set_preferences(ARTISAN, serde_json::json!({"email": "meera@example.in"}))
        .await;
    let ready = events::v1::ReportReady {
        report_id: "rep-1".into(),
        owner_id: ARTISAN.into(),
        email: "accounts@meera-crafts.in".into(),
        title: "Weekly sales".into(),
        period: "7d: 2026-11-29 to 2026-12-05".into(),
        schedule_id: "sch-1".into(),
        pages: 3,
    };
    app.push("e-ready", "rep-1", &ready)
        .await
        .assert_status(StatusCode::OK);
    let artisan = settled_log(&app, ARTISAN).await;
    let email = artisan.iter().find(|m| m["channel"] == "email").unwrap();
    assert_eq!(email["template"], "weekly_report");
    assert_eq!(email["status"], "delivered");
    assert_eq!(email["subject"], "Your weekly report: Weekly sales");
    assert!(
        email["body"]
            .as_str()
            .unwrap()
            .ends_with("/analytics/reports/rep-1/files/report.pdf"),
        "{email}"
    );
    let id = email["id"].as_str().unwrap();
    let stored = app
        .store()
        .collection::<notification::domain::Notification>()
        .get(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.value.email_to.as_deref(),
        Some("accounts@meera-crafts.in")
    );
}
