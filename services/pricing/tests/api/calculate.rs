//! `POST /pricing/calculate`: who may ask, what it answers, what it
//! stores and publishes.

use common::Money;
use http::StatusCode;
use pricing::domain::ml::Predicted;
use serde_json::{Value, json};

use crate::helpers::{Sale, TestApp, week};

fn request(product: &str) -> Value {
    json!({
        "product_id": product,
        "base_cost": {"amount": 10_000, "currency": "INR"},
        "labor_hours": 10,
        "material_costs": [
            {"name": "clay", "amount": {"amount": 20_000, "currency": "INR"}},
            {"name": "glaze", "amount": {"amount": 5_000, "currency": "INR"}}
        ],
        "artisan_skill_level": 3,
        "urgency": "low"
    })
}

fn paise(v: &Value) -> i64 {
    v["amount"].as_i64().unwrap()
}

#[tokio::test]
async fn only_the_products_artisan_or_an_admin_may_price_it() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Jaipur, Rajasthan", 0).await;
    let body = request("p1");
    for (token, status) in [
        (app.other_artisan(), StatusCode::FORBIDDEN),
        (app.buyer(), StatusCode::FORBIDDEN),
        (app.artisan(), StatusCode::OK),
        (app.admin(), StatusCode::OK),
    ] {
        app.post_json("/pricing/calculate", &body, Some(&token))
            .await
            .assert_status(status);
    }
    app.post_json("/pricing/calculate", &request("nope"), Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "unknown_product");
    app.post_json("/pricing/calculate", &body, None)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    // The stored suggestion follows the same rule.
    app.get("/pricing/suggestions/p1", Some(&app.other_artisan()))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let s: Value = app
        .get("/pricing/suggestions/p1", Some(&app.artisan()))
        .await
        .json();
    assert_eq!(s["method"], "calculate:cost_plus");
}

#[tokio::test]
async fn the_floor_the_evidence_and_each_step_are_shown_stored_and_published() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Jaipur, Rajasthan", 0).await;
    // Without comparables or the ML service: cost-plus over the floor.
    // Rajasthan ₹285 a day of 8 hours × 125% (skill 3) for 10 hours =
    // ₹445.32 (rounded up); costs ₹350 → floor ₹795.32; +20% margin →
    // ₹954.39 (up) → ₹955 (a whole rupee).
    let q: Value = app
        .post_json("/pricing/calculate", &request("p1"), Some(&app.artisan()))
        .await
        .json();
    let f = &q["fair_wage_floor"];
    assert_eq!(paise(&f["floor"]), 79_532);
    assert_eq!(paise(&f["wage"]), 44_532);
    assert_eq!(f["wage_region"], "rajasthan");
    assert!(f["source"].as_str().unwrap().contains("Rajasthan"));
    assert_eq!(paise(&q["suggested_price"]), 95_500);
    assert_eq!(q["pricing_strategy"], "cost_plus");
    assert_eq!(q["comparables"]["status"], "none");
    assert_eq!(q["ml_prediction"]["status"], "unavailable");
    assert!(
        q["ml_prediction"]["reason"]
            .as_str()
            .unwrap()
            .contains("did not answer")
    );
    let effects: i64 = q["market_factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| paise(&f["effect"]))
        .sum();
    assert_eq!(effects, 95_500);
    assert_eq!(paise(&q["price_range"]["minimum"]), 79_600);
    assert_eq!(
        app.outbox_types().await,
        ["pricing.suggested", "pricing.suggested"]
    );

    // Twenty sales at ₹3,000 in the region weigh as much as cost-plus, and
    // the ML service's ₹2,000 weighs half: (954.39 + 3,000 + 0.5 × 2,000)
    // / 2.5 = ₹1,981.76 → ₹1,982.
    for i in 0..20 {
        let sale = Sale {
            category: "pottery",
            region: "Jaipur, Rajasthan",
            quantity: 1,
            unit_price: 300_000,
            at: week(-1 - i / 5),
        };
        app.sold(&format!("o{i}"), "p9", sale).await;
    }
    *app.ml.answer.lock().unwrap() = Some(Predicted::new(
        Money::inr(200_000),
        Money::inr(150_000),
        Money::inr(260_000),
    ));
    let q: Value = app
        .post_json("/pricing/calculate", &request("p1"), Some(&app.artisan()))
        .await
        .json();
    assert_eq!(paise(&q["suggested_price"]), 198_200);
    assert_eq!(q["comparables"]["status"], "used");
    assert_eq!(q["comparables"]["market"], "region");
    assert_eq!(q["comparables"]["sales"], 20);
    assert_eq!(q["ml_prediction"]["status"], "used");
    assert_eq!(q["pricing_strategy"], "competitive");
    assert_eq!(paise(&q["price_range"]["minimum"]), 150_000);
    assert_eq!(paise(&q["price_range"]["premium"]), 300_000);
    let asked = app.ml.asked.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (asked.category.as_str(), asked.labor_hours),
        ("pottery", 10.0)
    );
    let s: Value = app
        .get("/pricing/suggestions/p1", Some(&app.artisan()))
        .await
        .json();
    assert_eq!(paise(&s["suggested"]), 198_200);
    assert_eq!(s["method"], "calculate:competitive");
}

#[tokio::test]
async fn bad_input_is_422_naming_each_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Rajasthan", 0).await;
    let before = app.outbox().await.len();
    let mut body = request("p1");
    body["labor_hours"] = json!(-1);
    body["artisan_skill_level"] = json!(9);
    body["base_cost"] = json!({"amount": 100, "currency": "USD"});
    body["material_costs"][0]["name"] = json!(" ");
    app.post_json("/pricing/calculate", &body, Some(&app.artisan()))
        .await
        .assert_invalid_fields(&[
            "base_cost",
            "material_costs[0].name",
            "labor_hours",
            "artisan_skill_level",
        ]);
    let mut body = request("p1");
    body["urgency"] = json!("yesterday");
    app.post_json("/pricing/calculate", &body, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let mut body = request("p1");
    body["material_costs"] = json!(vec![
        json!({"name": "x", "amount": {"amount": 1, "currency": "INR"}});
        51
    ]);
    app.post_json("/pricing/calculate", &body, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.outbox().await.len(), before);
}
