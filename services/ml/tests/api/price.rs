//! `POST /ml/predict-price` from the listings the product events carried.

use events::v1::{Money, ProductCreated, ProductUpdated};
use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn listing(id: &str, sub: &str, region: &str, paise: i64) -> ProductCreated {
    ProductCreated {
        product_id: id.to_owned(),
        artisan_id: testkit::users::ARTISAN.to_owned(),
        category: "pottery".to_owned(),
        subcategory: sub.to_owned(),
        region: region.to_owned(),
        materials: vec!["Clay".to_owned(), "glaze".to_owned()],
        price: Some(Money {
            amount: paise,
            currency: "INR".to_owned(),
        }),
        production_time_days: 3,
        status: "active".to_owned(),
        ..Default::default()
    }
}

fn ask() -> Value {
    json!({
        "product_id": "new", "category": "pottery", "subcategory": "vases",
        "region": "Rajasthan", "materials": ["clay", "glaze"], "production_time_days": 3,
        "labor_hours": 10, "artisan_skill_level": 3
    })
}

#[tokio::test]
async fn a_price_is_predicted_from_the_nearest_listings_and_thin_data_says_so() {
    let app = TestApp::spawn().await;
    for i in 0..4 {
        let l = listing(&format!("p{i}"), "vases", "Rajasthan", 200_000 + i * 2_000);
        app.push(&format!("e{i}"), &l.product_id, &l)
            .await
            .assert_status(StatusCode::OK);
    }
    let thin: Value = app
        .post_json("/ml/predict-price", &ask(), Some(&app.service_token()))
        .await
        .json();
    assert_eq!(thin["status"], "insufficient_data");
    assert!(thin["price"].is_null());
    for i in 4..12 {
        let (sub, paise) = if i < 8 {
            ("vases", 200_000 + i * 2_000)
        } else {
            ("tiles", 900_000)
        };
        let l = listing(&format!("p{i}"), sub, "Rajasthan", paise);
        app.push(&format!("e{i}"), &l.product_id, &l)
            .await
            .assert_status(StatusCode::OK);
    }
    // A paused listing is not a comparable.
    let paused = ProductUpdated {
        product_id: "p8".into(),
        status: "paused".into(),
        ..Default::default()
    };
    app.push("u8", "p8", &paused)
        .await
        .assert_status(StatusCode::OK);
    let r = app
        .post_json("/ml/predict-price", &ask(), Some(&app.artisan()))
        .await;
    r.assert_status(StatusCode::OK);
    let p: Value = r.json();
    assert_eq!(p["status"], "predicted");
    assert_eq!(p["comparables"], 11);
    let price = p["price"]["amount"].as_i64().unwrap();
    assert!((200_000..=214_000).contains(&price), "{p}");
    assert!(p["low"]["amount"].as_i64().unwrap() <= price);
    assert!(p["high"]["amount"].as_i64().unwrap() >= price);
    assert_eq!(p["nearest"][0]["distance"], 0.0);
    app.post_json("/ml/predict-price", &ask(), Some(&app.buyer()))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let mut bad = ask();
    bad["labor_hours"] = json!(-3);
    app.post_json("/ml/predict-price", &bad, Some(&app.artisan()))
        .await
        .assert_invalid_fields(&["labor_hours"]);
}
