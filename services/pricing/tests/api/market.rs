//! `GET /pricing/market-analysis/{category}` from sales pushed as events.

use http::StatusCode;
use serde_json::Value;

use crate::helpers::{Sale, TestApp, week};

/// Ten orders, one a week over the ten weeks before this one (x = −10 …
/// −1), prices in paise.
const PRICES: [i64; 10] = [
    100_000, 103_000, 102_000, 107_000, 108_000, 108_000, 113_000, 112_000, 116_000, 119_000,
];

async fn ten_orders(app: &TestApp, region: &str) {
    for (i, price) in PRICES.iter().enumerate() {
        let sale = Sale {
            category: "pottery",
            region,
            quantity: 1,
            unit_price: *price,
            at: week(i as i64 - 10),
        };
        app.sold(&format!("o{i}"), "p1", sale).await;
    }
}

fn paise(v: &Value) -> i64 {
    assert_eq!(v["currency"], "INR");
    v["amount"].as_i64().unwrap()
}

#[tokio::test]
async fn ten_orders_give_the_hand_computed_median_spread_and_trend() {
    let app = TestApp::spawn().await;
    ten_orders(&app, "Jaipur, Rajasthan").await;
    let a: Value = app
        .get("/pricing/market-analysis/pottery", Some(&app.buyer()))
        .await
        .json();
    assert_eq!(a["sales"], 10);
    let p = &a["prices"];
    // Sorted: 100,000 102,000 103,000 107,000 108,000 | 108,000 112,000
    // 113,000 116,000 119,000.
    assert_eq!(paise(&p["median"]), 108_000); // (108,000 + 108,000) / 2
    assert_eq!(paise(&p["average"]), 108_800); // 1,088,000 / 10
    assert_eq!(paise(&p["p25"]), 104_000); // 103,000 + 0.25 × 4,000 (h = 2.25)
    assert_eq!(paise(&p["p75"]), 112_750); // 112,000 + 0.75 × 1,000 (h = 6.75)
    assert_eq!(p["spread_bps"], 810); // 8,750 / 108,000
    assert_eq!(paise(&p["minimum"]), 100_000);
    assert_eq!(paise(&p["maximum"]), 119_000);
    // Weeks x = −10 … −1: Sxx = 82.5, Sxy = 165,000 → 2,000 paise a week,
    // 8,571 per 30 days; residuals' sum of squares 15,600,000 → standard
    // error √(15,600,000 / 8 / 82.5) = 153.74; t(8) = 2.306 →
    // 2,000 ± 354.5 a week → 7,052 … 10,091 per 30 days; 8,571 of the mean
    // 108,800 is 788 bps.
    let t = &a["trend"][0];
    assert_eq!(t["window_weeks"], 13);
    assert_eq!(t["weeks_with_sales"], 10);
    assert_eq!(t["direction"], "rising");
    assert_eq!(paise(&t["slope_per_30_days"]), 8_571);
    assert_eq!(paise(&t["slope_low"]), 7_052);
    assert_eq!(paise(&t["slope_high"]), 10_091);
    assert_eq!(t["change_per_30_days_bps"], 788);
    // One order a week throughout: recent 4 weeks 1.0 a week; the six
    // weeks before are too short a baseline to call.
    let d = &a["demand"];
    assert_eq!(d["recent_orders_per_week"], 1.0);
    assert_eq!(d["baseline_weeks"], 6);
    assert_eq!(d["level"], "insufficient_history");
    assert_eq!(a["seasonality"]["status"], "insufficient_history");
    let recs = a["recommendations"].as_array().unwrap();
    assert!(
        recs.iter()
            .any(|r| r["figure"] == "trend[0].change_per_30_days_bps" && r["value"] == "788"),
        "{recs:?}"
    );

    // The region's market holds the same sales; another region none.
    let r: Value = app
        .get(
            "/pricing/market-analysis/pottery?region=jaipur,%20RAJASTHAN",
            Some(&app.buyer()),
        )
        .await
        .json();
    assert_eq!(
        (r["sales"].clone(), r["region"].clone()),
        (10.into(), "jaipur, rajasthan".into())
    );
    let other: Value = app
        .get(
            "/pricing/market-analysis/pottery?region=Kerala",
            Some(&app.buyer()),
        )
        .await
        .json();
    assert_eq!(other["sales"], 0);
    assert!(other["prices"].is_null());
    assert_eq!(other["trend"][0]["direction"], "unknown");
}

#[tokio::test]
async fn duplicate_events_and_both_events_of_one_order_count_once() {
    let app = TestApp::spawn().await;
    ten_orders(&app, "Rajasthan").await;
    // Pub/Sub redelivers one event…
    let sale = |price| Sale {
        category: "pottery",
        region: "Rajasthan",
        quantity: 1,
        unit_price: price,
        at: week(-1),
    };
    app.sold("o3", "p1", sale(107_000)).await;
    // …and another event of an order already counted arrives.
    let again = crate::helpers::completed("o4", "p1", &sale(108_000));
    app.push_at("another-id", "o4", &again, week(-1)).await;
    let a: Value = app
        .get("/pricing/market-analysis/pottery", Some(&app.artisan()))
        .await
        .json();
    assert_eq!(a["sales"], 10);
    assert_eq!(paise(&a["prices"]["median"]), 108_000);
}

#[tokio::test]
async fn an_unknown_category_is_404_a_bad_region_422_and_strangers_401() {
    let app = TestApp::spawn().await;
    app.get("/pricing/market-analysis/spaceships", Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let long = "x".repeat(81);
    app.get(
        &format!("/pricing/market-analysis/pottery?region={long}"),
        Some(&app.buyer()),
    )
    .await
    .assert_invalid_fields(&["region"]);
    app.get("/pricing/market-analysis/pottery", None)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}
