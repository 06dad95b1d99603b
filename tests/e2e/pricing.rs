//! Pricing through the gateway: a newly listed product shows a suggested
//! price without anyone asking, and only its artisan may calculate one.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{AuthApi, eventually};

use crate::send;

#[tokio::test]
async fn a_new_listing_shows_a_suggested_price_without_anyone_asking() {
    let (system, gw, auth) =
        crate::through_gateway(&["gateway", "auth", "product", "pricing"]).await;
    let http = reqwest::Client::new();
    let artisan = auth.new_user("artisan").await.unwrap();
    let buyer = auth.new_user("buyer").await.unwrap();
    let created = crate::create_product(
        &http,
        &gw,
        &artisan.id_token,
        &json!({
            "title": "Blue pottery vase", "description": {"en": "Quartz-clay, hand-painted."},
            "category": "pottery", "subcategory": "vases",
            "price": {"amount": 180000, "currency": "INR"},
            "materials": ["quartz", "glass"], "region": "Jaipur, Rajasthan",
            "production_time_days": 3
        }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["suggested_price"]["status"], "pending");

    // product.created → pricing → pricing.suggested → product: three
    // working days at Rajasthan's ₹285 a day, +20% = ₹1,026.
    let product = eventually(Duration::from_secs(20), "a suggested price", || async {
        let (_, p) = send(http.get(format!("{gw}/products/{id}"))).await;
        (p["suggested_price"]["status"] == "ready").then_some(p)
    })
    .await
    .unwrap();
    let s = &product["suggested_price"];
    assert_eq!(s["suggested"], json!({"amount": 102600, "currency": "INR"}));
    assert_eq!(s["method"], "initial:fair_wage");

    // The artisan asks with their costs; a buyer may not.
    let body = json!({
        "product_id": id, "base_cost": {"amount": 5000, "currency": "INR"}, "labor_hours": 20,
        "material_costs": [{"name": "quartz", "amount": {"amount": 30000, "currency": "INR"}}],
        "artisan_skill_level": 4, "urgency": "medium"
    });
    let (status, _) = send(
        http.post(format!("{gw}/pricing/calculate"))
            .bearer_auth(&buyer.id_token)
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, quote) = send(
        http.post(format!("{gw}/pricing/calculate"))
            .bearer_auth(&artisan.id_token)
            .json(&body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    // ₹285 × 150% / 8 h × 20 h = ₹1,068.75; + ₹350 costs = ₹1,418.75.
    assert_eq!(quote["fair_wage_floor"]["floor"]["amount"], 141_875);
    // No ML service in this stack: said so, not guessed.
    assert_eq!(quote["ml_prediction"]["status"], "unavailable");
    let suggested = quote["suggested_price"].clone();
    let product = eventually(Duration::from_secs(20), "the calculated price", || async {
        let (_, p) = send(http.get(format!("{gw}/products/{id}"))).await;
        (p["suggested_price"]["suggested"] == suggested).then_some(p)
    })
    .await
    .unwrap();
    assert_eq!(product["suggested_price"]["method"], "calculate:cost_plus");

    let (status, market): (_, Value) = send(
        http.get(format!(
            "{gw}/pricing/market-analysis/pottery?region=Rajasthan"
        ))
        .bearer_auth(&buyer.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{market}");
    assert_eq!(market["sales"], 0);
    system.stop().await.unwrap();
}
