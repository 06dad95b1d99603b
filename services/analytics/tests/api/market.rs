//! `GET /analytics/market-trends`.

use http::StatusCode;
use serde_json::Value;

use testkit::users::{ARTISAN, OTHER_ARTISAN};

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

#[tokio::test]
async fn a_market_where_one_or_two_artisans_sold_is_not_shown() {
    let app = TestApp::spawn_with_min_sellers(3).await;
    let third = "artisan-third";
    for (product, artisan) in [("p1", ARTISAN), ("p2", OTHER_ARTISAN), ("p3", third)] {
        app.listed_by(product, artisan, "pottery", "Vase").await;
    }
    let trends = |query: &'static str| {
        let app = &app;
        async move {
            let path = format!("/analytics/market-trends?{query}");
            app.get(&path, Some(&app.buyer())).await
        }
    };
    let pottery_on_dashboard = || async {
        let d = app.artisan_dashboard("30d").await;
        let shown = |list: &str| {
            d[list]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["category"] == "pottery")
        };
        (shown("market_trends"), shown("seasonal_insights"))
    };
    // Nobody sold: nobody's figures to hide.
    trends("category=pottery")
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(pottery_on_dashboard().await, (true, true));

    // Two artisans, in this period and the last: each could take their
    // own sales away and read the other's.
    for (i, (product, artisan)) in [("p1", ARTISAN), ("p2", OTHER_ARTISAN)]
        .into_iter()
        .enumerate()
    {
        for (when, days) in [("now", 1), ("before", 35)] {
            app.sold_by(&format!("{when}-{i}"), product, artisan, ago(days))
                .await;
        }
    }
    let refused = trends("category=pottery").await;
    let problem = refused.assert_problem(StatusCode::FORBIDDEN, "too_few_sellers");
    let detail = problem.detail.unwrap_or_default();
    assert!(detail.contains("fewer than 3 artisans"), "{detail}");
    let as_admin = app
        .get(
            "/analytics/market-trends?category=pottery",
            Some(&app.admin()),
        )
        .await;
    as_admin.assert_problem(StatusCode::FORBIDDEN, "too_few_sellers");
    assert_eq!(pottery_on_dashboard().await, (false, false));

    // A third in this period only: the last period still shows two.
    app.sold_by("now-2", "p3", third, ago(2)).await;
    trends("category=pottery")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "too_few_sellers");
    // The three years of seasons hold three; the 30-day market does not.
    assert_eq!(pottery_on_dashboard().await, (false, true));

    // And in the last: three in every window.
    app.sold_by("before-2", "p3", third, ago(36)).await;
    let shown = trends("category=pottery").await;
    shown.assert_status(StatusCode::OK);
    let t: Value = shown.json();
    assert_eq!(t["demand"]["units"], 3);
    assert_eq!(t["demand"]["previous_units"], 3);
    assert_eq!(pottery_on_dashboard().await, (true, true));

    // A fourth, in Kerala: the category shows four, but Rajasthan's three
    // would show the fourth's sales as the category less Rajasthan.
    app.listed_in("p4", "artisan-fourth", "pottery", "Lamp", "Kerala")
        .await;
    for (when, days) in [("now", 3), ("before", 37)] {
        app.sold_by(&format!("{when}-3"), "p4", "artisan-fourth", ago(days))
            .await;
    }
    let t: Value = trends("category=pottery").await.json();
    assert_eq!(t["demand"]["units"], 4, "{t}");
    for region in ["rajasthan", "kerala"] {
        let path = format!("/analytics/market-trends?category=pottery&region={region}");
        app.get(&path, Some(&app.buyer()))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "too_few_sellers");
    }
}
