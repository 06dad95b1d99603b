//! `POST /ml/predict-demand` from completed orders pushed as events.

use chrono::{Duration, Utc};
use events::PushRequest;
use events::v1::OrderCompleted;
use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn sold(app: &TestApp, event_id: &str, order: &str, days_ago: i64) {
    let event = OrderCompleted {
        order_id: order.to_owned(),
        product_id: "p1".to_owned(),
        quantity: 1,
        category: "textiles".to_owned(),
        subcategory: "Saris".to_owned(),
        region: "West Bengal".to_owned(),
        ..Default::default()
    };
    let at = Utc::now() - Duration::days(days_ago);
    let body = PushRequest::for_event_at(event_id, "product", order, &event, at);
    app.post_json("/events/push", &body, Some(&app.service_token()))
        .await
        .assert_status(StatusCode::OK);
}

async fn ask(app: &TestApp, body: &Value) -> testkit::http::TestResponse {
    app.post_json("/ml/predict-demand", body, Some(&app.artisan()))
        .await
}

#[tokio::test]
async fn orders_are_counted_once_into_their_slices_and_forecast() {
    let app = TestApp::spawn().await;
    for d in 1..=10 {
        sold(&app, &format!("e{d}"), &format!("o{d}"), d).await;
    }
    // A redelivery, and another event of a counted order.
    sold(&app, "e1", "o1", 1).await;
    sold(&app, "other", "o2", 2).await;
    let body = json!({"category": "textiles", "region": "west bengal", "time_horizon": 7});
    let thin: Value = ask(&app, &body).await.json();
    assert_eq!(thin["status"], "insufficient_history");
    assert_eq!(thin["history_days"], 10);
    // One order a day for ten days: the naive week is seven.
    assert_eq!(thin["total"]["point"], 7.0);
    for d in 11..=35 {
        sold(&app, &format!("e{d}"), &format!("o{d}"), d).await;
    }
    let f: Value = ask(
        &app,
        &json!({"category": "textiles", "subcategory": "saris", "time_horizon": 14}),
    )
    .await
    .json();
    assert_eq!(f["status"], "forecast", "{f}");
    assert_eq!(f["history_days"], 35);
    assert_eq!(f["daily"].as_array().unwrap().len(), 14);
    let total = &f["total"];
    assert!(
        (total["point"].as_f64().unwrap() - 14.0).abs() < 1.5,
        "{total}"
    );
    assert!(f["backtest"]["held_out_days"].as_u64().unwrap() > 0);
    // Another region has none.
    let none: Value = ask(
        &app,
        &json!({"category": "textiles", "region": "Kerala", "time_horizon": 7}),
    )
    .await
    .json();
    assert_eq!(none["history_days"], 0);
}

#[tokio::test]
async fn a_bad_slice_or_horizon_is_422() {
    let app = TestApp::spawn().await;
    ask(&app, &json!({"category": "spaceships", "time_horizon": 7}))
        .await
        .assert_invalid_fields(&["category"]);
    ask(&app, &json!({"category": "textiles", "time_horizon": 0}))
        .await
        .assert_invalid_fields(&["time_horizon"]);
    ask(
        &app,
        &json!({"category": "textiles", "time_horizon": 7, "region": " "}),
    )
    .await
    .assert_invalid_fields(&["region"]);
    app.post_json(
        "/ml/predict-demand",
        &json!({"category": "textiles", "time_horizon": 7}),
        None,
    )
    .await
    .assert_status(StatusCode::UNAUTHORIZED);
    app.post_json(
        "/ml/predict-demand",
        &json!({"category": "textiles", "time_horizon": 7}),
        Some(&app.buyer()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}
