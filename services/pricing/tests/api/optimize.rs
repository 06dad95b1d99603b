//! `POST /pricing/optimize`: elasticities recovered where the data identify
//! them, and said to be unidentifiable where they do not.

use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Sale, TestApp, week};

/// A deterministic number in [−1, 1) for `i` (nearby `i` unrelated).
fn jitter(i: u64) -> f64 {
    common::mix::unit(i) * 2.0 - 1.0
}

async fn optimize(app: &TestApp, ids: &[&str]) -> Value {
    let r = app
        .post_json(
            "/pricing/optimize",
            &json!({"product_ids": ids}),
            Some(&app.artisan()),
        )
        .await;
    r.assert_status(StatusCode::OK);
    r.json::<Value>()["results"][0].clone()
}

#[tokio::test]
async fn a_known_elasticity_is_recovered_within_its_interval() {
    const ELASTICITY: f64 = -1.5;
    let app = TestApp::spawn().await;
    app.listed("p0", "pottery", "Rajasthan", 0).await;
    // Eight products over six weeks; each week's price moves up to ±40%
    // around ₹1,000 and units follow 30 × (price / ₹1,000)^−1.5 with ±10%
    // noise.
    let mut n = 0u64;
    for product in 0..8 {
        for w in 0..6 {
            n += 1;
            let price = 100_000.0 * (0.4 * jitter(n)).exp();
            let units =
                30.0 * (price / 100_000.0).powf(ELASTICITY) * (0.1 * jitter(n + 1_000)).exp();
            let sale = Sale {
                category: "pottery",
                region: "Rajasthan",
                quantity: units.round() as u32,
                unit_price: price.round() as i64,
                at: week(-1 - w),
            };
            app.sold(&format!("o{n}"), &format!("p{product}"), sale)
                .await;
        }
    }
    let o = optimize(&app, &["p0"]).await;
    let e = &o["elasticity"];
    assert_eq!(e["status"], "identified", "{o}");
    assert_eq!(e["observations"], 48);
    let (low, high) = (e["low"].as_f64().unwrap(), e["high"].as_f64().unwrap());
    assert!(low <= ELASTICITY && ELASTICITY <= high, "{low} … {high}");
    assert!(
        high < -1.0,
        "elastic over its whole interval: {low} … {high}"
    );
    // Elastic: a step down of 10% from the listed ₹1,500.
    assert_eq!(o["method"], "elasticity");
    assert_eq!(o["suggested_price"]["amount"], 135_000);
    assert!(o["expected_demand_change_bps"].as_i64().unwrap() > 1_000);
    assert!(o["expected_revenue_change_bps"].as_i64().unwrap() > 0);
    let (a, b) = (
        o["demand_change_low_bps"].as_i64().unwrap(),
        o["demand_change_high_bps"].as_i64().unwrap(),
    );
    assert!(a <= o["expected_demand_change_bps"].as_i64().unwrap() && a < b);
}

#[tokio::test]
async fn a_flat_price_history_is_unidentifiable_and_falls_back_to_the_rule() {
    let app = TestApp::spawn().await;
    for i in 0..30 {
        let sale = Sale {
            category: "basketry",
            region: "",
            quantity: 1 + (i % 7) as u32,
            unit_price: 80_000,
            at: week(-1 - i / 5),
        };
        app.sold(&format!("o{i}"), &format!("p{}", i % 4), sale)
            .await;
    }
    // Listed after the sales: its first suggestion is their median.
    app.listed("b1", "basketry", "", 0).await;
    let o = optimize(&app, &["b1"]).await;
    assert_eq!(o["elasticity"]["status"], "unidentifiable");
    assert!(
        o["elasticity"]["reason"]
            .as_str()
            .unwrap()
            .contains("too little price variation"),
        "{o}"
    );
    assert!(o["elasticity"]["estimate"].is_null());
    assert_eq!(o["method"], "calculate_rule");
    assert_eq!(o["suggested_price"]["amount"], 80_000);
    assert!(o["basis"].as_str().unwrap().contains("initial:comparables"));
    assert!(o["expected_demand_change_bps"].is_null());

    // Too few sales: said so, too.
    app.listed("t1", "toys", "", 0).await;
    let o = optimize(&app, &["t1"]).await;
    assert!(
        o["elasticity"]["reason"]
            .as_str()
            .unwrap()
            .contains("too few sales")
    );
}

#[tokio::test]
async fn optimize_takes_a_bounded_list_of_the_callers_own_products() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "", 0).await;
    let ids: Vec<String> = (0..21).map(|i| format!("p{i}")).collect();
    let send = |body: Value, token: String| {
        let app = &app;
        async move {
            app.post_json("/pricing/optimize", &body, Some(&token))
                .await
        }
    };
    send(json!({"product_ids": ids}), app.artisan())
        .await
        .assert_invalid_fields(&["product_ids"]);
    send(json!({"product_ids": ["p1", "p1"]}), app.artisan())
        .await
        .assert_invalid_fields(&["product_ids"]);
    send(json!({"product_ids": []}), app.artisan())
        .await
        .assert_invalid_fields(&["product_ids"]);
    send(json!({"product_ids": ["p1"]}), app.other_artisan())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    send(json!({"product_ids": ["p1"]}), app.buyer())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    send(json!({"product_ids": ["p1", "ghost"]}), app.admin())
        .await
        .assert_problem(StatusCode::NOT_FOUND, "unknown_product");
    send(json!({"product_ids": ["p1"]}), app.admin())
        .await
        .assert_status(StatusCode::OK);
}
