//! `GET /analytics/market-trends`.

use http::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, ago};

#[tokio::test]
async fn trends_compare_prices_and_demand_and_name_their_figures() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Blue vase").await;
    app.listed("p2", "pottery", "Terracotta lamp").await;
    app.tagged("p1", &["blue-pottery", "floral"]).await;
    app.tagged("p2", &["terracotta"]).await;
    // This period: six sales at ₹1,200 (p1) and ₹800 (p2); before: two at ₹1,000.
    for i in 0..4 {
        app.sold(&format!("a{i}"), "p1", 120_000, ago(1 + i), "Goa")
            .await;
    }
    for i in 0..2 {
        app.sold(&format!("b{i}"), "p2", 80_000, ago(2 + i), "Goa")
            .await;
    }
    for i in 0..2 {
        app.sold(&format!("c{i}"), "p1", 100_000, ago(35 + i), "Goa")
            .await;
    }

    let r = app
        .get(
            "/analytics/market-trends?category=pottery&time_period=30d",
            Some(&app.buyer()),
        )
        .await;

    r.assert_status(StatusCode::OK);
    let t: Value = r.json();
    assert_eq!(t["demand"]["units"], 6);
    assert_eq!(t["demand"]["previous_units"], 2);
    assert_eq!(t["demand"]["change_pct"], 200.0);
    // Median of 800, 800, 1200, 1200, 1200, 1200 → 1200; before 1000.
    assert_eq!(t["price"]["median_unit_price"]["amount"], 120_000);
    assert_eq!(t["price"]["previous_median_unit_price"]["amount"], 100_000);
    assert_eq!(t["price"]["change_pct"], 20.0);
    assert_eq!(t["popular_styles"][0]["tag"], "blue-pottery");
    assert_eq!(t["popular_styles"][0]["units"], 4);
    assert_eq!(t["popular_styles"][2]["tag"], "terracotta");
    let figures: Vec<&str> = t["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["figure"].as_str().unwrap())
        .collect();
    assert!(figures.contains(&"demand.change_pct"), "{figures:?}");
    assert!(figures.contains(&"price.change_pct"), "{figures:?}");
    assert!(t["weekly"].as_array().unwrap().len() >= 5);
    let months = t["seasonal"]["months"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    assert_eq!(
        months
            .iter()
            .map(|m| m["units"].as_i64().unwrap())
            .sum::<i64>(),
        8
    );
}

#[tokio::test]
async fn a_region_narrows_the_market_in_any_case() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Vase").await;
    app.sold("o1", "p1", 100_000, ago(1), "Goa").await;

    let here = app
        .get(
            "/analytics/market-trends?category=pottery&region=rajasthan",
            Some(&app.buyer()),
        )
        .await;
    let there = app
        .get(
            "/analytics/market-trends?category=pottery&region=Kerala",
            Some(&app.buyer()),
        )
        .await;

    assert_eq!(here.json::<Value>()["demand"]["units"], 1);
    assert_eq!(there.json::<Value>()["demand"]["units"], 0);
}

#[tokio::test]
async fn a_bad_period_or_category_is_422() {
    let app = TestApp::spawn().await;
    for query in [
        "category=pottery&time_period=14d",
        "category=spaceships",
        "time_period=30d",
        "category=pottery&region=",
    ] {
        let r = app
            .get(
                &format!("/analytics/market-trends?{query}"),
                Some(&app.buyer()),
            )
            .await;
        r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    }
}
