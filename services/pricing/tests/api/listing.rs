//! A newly listed product gets a suggested price without anyone asking.

use events::v1::{PriceSuggested, ProductDeleted, ProductUpdated};
use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Sale, TestApp, week};

async fn published(app: &TestApp) -> Vec<PriceSuggested> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == "pricing.suggested")
        .map(|e| e.decode::<PriceSuggested>().unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_listing_is_priced_from_the_fair_wage_for_its_days_and_its_market() {
    let app = TestApp::spawn().await;
    // Two days in an unknown region: 2 × ₹783 (the default wage) = ₹1,566
    // floor; +20% → ₹1,879.20 → ₹1,880.
    app.listed("p1", "textiles", "Atlantis", 2).await;
    let s = &published(&app).await[0];
    assert_eq!(s.product_id, "p1");
    assert_eq!(s.suggested.as_ref().unwrap().amount, 188_000);
    assert_eq!(s.method, "initial:fair_wage");
    // Without days or comparables it says so rather than invent a price.
    app.listed("p2", "textiles", "Atlantis", 0).await;
    let s = &published(&app).await[1];
    assert_eq!(
        (s.suggested.clone(), s.method.as_str()),
        (None, "initial:insufficient_evidence")
    );
    // With five comparable sales in the category: their median.
    for (i, price) in [90_000, 100_000, 110_000, 120_000, 400_000]
        .iter()
        .enumerate()
    {
        let sale = Sale {
            category: "textiles",
            region: "",
            quantity: 1,
            unit_price: *price,
            at: week(-1),
        };
        app.sold(&format!("o{i}"), "p0", sale).await;
    }
    app.listed("p3", "textiles", "Atlantis", 0).await;
    let s = &published(&app).await[2];
    assert_eq!(s.method, "initial:comparables");
    assert_eq!(s.suggested.as_ref().unwrap().amount, 110_000);
    assert_eq!(s.low.as_ref().unwrap().amount, 100_000);
    assert_eq!(s.high.as_ref().unwrap().amount, 120_000);
}

#[tokio::test]
async fn product_events_keep_the_listing_and_a_deleted_one_is_not_priced() {
    let app = TestApp::spawn().await;
    // An update that overtakes its product.created (another topic) is
    // refused for now, so that it comes again, and is not lost.
    let early = ProductUpdated {
        product_id: "p1".into(),
        artisan_id: testkit::users::ARTISAN.into(),
        status: "paused".into(),
        ..Default::default()
    };
    let body = events::PushRequest::for_event("u-early", "product", "p1", &early);
    app.post_json("/events/push", &body, Some(&app.service_token()))
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    app.listed("p1", "pottery", "Rajasthan", 0).await;
    // A reclassification is followed, an older event ignored.
    let update = ProductUpdated {
        product_id: "p1".into(),
        artisan_id: testkit::users::ARTISAN.into(),
        changed_fields: vec!["category".into()],
        status: "active".into(),
        category: "textiles".into(),
        subcategory: "saris".into(),
        region: "Kerala".into(),
        ..Default::default()
    };
    app.push_at("u1", "p1", &update, chrono::Utc::now()).await;
    let stale = ProductUpdated {
        category: "toys".into(),
        ..update.clone()
    };
    app.push_at("u0", "p1", &stale, week(-5)).await;
    let body = json!({
        "product_id": "p1", "base_cost": {"amount": 0, "currency": "INR"},
        "labor_hours": 8, "material_costs": [], "artisan_skill_level": 1, "urgency": "low"
    });
    let q: Value = app
        .post_json("/pricing/calculate", &body, Some(&app.artisan()))
        .await
        .json();
    // Kerala has no figure: the default ₹783 for the day.
    assert_eq!(q["fair_wage_floor"]["floor"]["amount"], 78_300);
    assert_eq!(app.ml.asked.lock().unwrap()[0].category, "textiles");
    let deleted = ProductDeleted {
        product_id: "p1".into(),
        artisan_id: testkit::users::ARTISAN.into(),
    };
    app.push_at("d1", "p1", &deleted, chrono::Utc::now()).await;
    app.post_json("/pricing/calculate", &body, Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "unknown_product");
}
