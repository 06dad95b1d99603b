//! Dashboards: hand-computed figures, events counted once, and who may
//! see whose.

use events::v1::EngagementRecorded;
use http::StatusCode;
use serde_json::{Value, json};
use testkit::users::{ARTISAN, BUYER, OTHER_ARTISAN};

use crate::helpers::{TestApp, ago};

/// Ten sales this period (₹1,000 to ₹10,000), four the period before
/// (₹5,000 each); a cancelled and an unpaid order that are not sales;
/// 80 views now, 100 before.
async fn ten_orders(app: &TestApp) {
    app.listed("p1", "pottery", "Blue pottery vase").await;
    app.listed("p2", "pottery", "नीली मिट्टी की सुराही").await;
    for i in 1..=10 {
        let product = if i % 2 == 0 { "p2" } else { "p1" };
        app.sold(
            &format!("now-{i}"),
            product,
            100_000 * i,
            ago(i),
            "Karnataka",
        )
        .await;
    }
    for i in 1..=4 {
        app.sold(&format!("before-{i}"), "p1", 500_000, ago(30 + i), "Kerala")
            .await;
    }
    app.sold("cancelled", "p1", 9_900_000, ago(2), "Karnataka")
        .await;
    app.cancelled("cancelled", ago(1)).await;
    app.placed("unpaid", "p1", 7_700_000, ago(2), "Karnataka", "")
        .await;
    app.viewed("views-now-1", "p1", 50, ago(3)).await;
    app.viewed("views-now-2", "p2", 30, ago(4)).await;
    app.viewed("views-before", "p1", 100, ago(40)).await;
}

#[tokio::test]
async fn ten_orders_give_the_exact_revenue_aov_conversion_and_changes() {
    let app = TestApp::spawn().await;
    ten_orders(&app).await;

    let d = app.artisan_dashboard("30d").await;
    let m = &d["metrics"];

    assert_eq!(
        m["revenue"]["value"],
        json!({"amount": 5_500_000, "currency": "INR"})
    );
    assert_eq!(m["revenue"]["previous"]["amount"], 2_000_000);
    assert_eq!(m["revenue"]["change_pct"], 175.0);
    assert_eq!(
        m["orders"],
        json!({"value": 10, "previous": 4, "change_pct": 150.0})
    );
    assert_eq!(m["average_order_value"]["value"]["amount"], 550_000);
    assert_eq!(m["average_order_value"]["previous"]["amount"], 500_000);
    assert_eq!(m["average_order_value"]["change_pct"], 10.0);
    assert_eq!(
        m["conversion"],
        json!({"value": 0.125, "previous": 0.04, "change_pct": 212.5})
    );
    assert_eq!(m["views"]["value"], 80);
    // Top products by revenue: p2 (orders 2, 4, 6, 8, 10) then p1.
    let top = d["top_products"].as_array().unwrap();
    assert_eq!(top[0]["product_id"], "p2");
    assert_eq!(top[0]["title"], "नीली मिट्टी की सुराही");
    assert_eq!(top[0]["sales"]["revenue"], 3_000_000);
    assert_eq!(top[1]["sales"]["orders"], 5);
    assert_eq!(d["market_trends"][0]["category"], "pottery");
    assert_eq!(d["market_trends"][0]["demand"]["units"], 10);
    assert_eq!(d["market_trends"][0]["demand"]["previous_units"], 4);
    // A week: today and the six whole days before it.
    let week = app.artisan_dashboard("7d").await;
    assert_eq!(week["metrics"]["orders"]["value"], 6);
}

#[tokio::test]
async fn an_event_delivered_twice_is_counted_once() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Vase").await;
    app.sold("o1", "p1", 250_000, ago(1), "Goa").await;
    app.viewed("v1", "p1", 10, ago(1)).await;

    // Pub/Sub delivers again (same event ids).
    app.sold("o1", "p1", 250_000, ago(1), "Goa").await;
    let again = app
        .push_at(
            "v1",
            "p1",
            &EngagementRecorded {
                product_id: "p1".into(),
                artisan_id: ARTISAN.into(),
                kind: "view".into(),
                count: 10,
                ..Default::default()
            },
            ago(1),
        )
        .await;
    // The same order completed after being paid: still one sale.
    app.completed("o1", "p1", 250_000, "pottery", ago(0)).await;

    assert_eq!(again["outcome"], "duplicate");
    let d = app.artisan_dashboard("30d").await;
    assert_eq!(d["metrics"]["orders"]["value"], 1);
    assert_eq!(d["metrics"]["revenue"]["value"]["amount"], 250_000);
    assert_eq!(d["metrics"]["views"]["value"], 10);
}

#[tokio::test]
async fn order_steps_arriving_in_any_order_make_one_sale_dated_when_placed() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Vase").await;
    // Paid and completed arrive before placed (different topics).
    app.paid("late", 300_000, ago(10)).await;
    app.completed("late", "p1", 300_000, "pottery", ago(2))
        .await;
    app.placed("late", "p1", 300_000, ago(10), "Punjab", "")
        .await;

    let week = app.artisan_dashboard("7d").await;
    let month = app.artisan_dashboard("30d").await;

    assert_eq!(week["metrics"]["orders"]["value"], 0, "placed ten days ago");
    assert_eq!(month["metrics"]["orders"]["value"], 1);
    assert_eq!(month["metrics"]["revenue"]["value"]["amount"], 300_000);
}

#[tokio::test]
async fn searches_that_found_show_impressions_clicks_and_orders() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Blue vase").await;
    app.listed("p2", "pottery", "Blue bowl").await;
    app.listed_by("x1", OTHER_ARTISAN, "pottery", "Another's vase")
        .await;
    app.searched("s1", "blue pottery", &["p1", "x1", "p2"], ago(3))
        .await;
    app.searched("s2", "blue pottery", &["x1", "p1"], ago(2))
        .await;
    app.searched("s3", "vase", &["x1"], ago(2)).await;
    let click = EngagementRecorded {
        product_id: "p1".into(),
        artisan_id: ARTISAN.into(),
        kind: "click".into(),
        count: 2,
        search_id: "s1".into(),
        ..Default::default()
    };
    app.push_at("click-1", "p1", &click, ago(3)).await;
    app.placed("o1", "p1", 100_000, ago(3), "Goa", "s1").await;
    app.paid("o1", 100_000, ago(3)).await;

    let d = app.artisan_dashboard("30d").await;

    assert_eq!(
        d["search_terms"],
        json!([{"query": "blue pottery", "impressions": 3, "clicks": 2, "orders": 1}])
    );
}

#[tokio::test]
async fn a_buyer_sees_orders_spend_categories_and_what_they_like() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Vase").await;
    app.listed("p2", "textiles", "Stole").await;
    app.sold("o1", "p1", 100_000, ago(1), "Goa").await;
    app.sold("o2", "p1", 200_000, ago(2), "Goa").await;
    app.sold("o3", "p2", 300_000, ago(3), "Goa").await;
    app.engaged("l1", "p1", "like", 1, BUYER, ago(5)).await;
    app.engaged("l2", "p2", "like", 1, BUYER, ago(4)).await;
    app.engaged("u2", "p2", "unlike", 1, BUYER, ago(3)).await;

    let r = app
        .get(
            &format!("/analytics/dashboard/{BUYER}?user_type=buyer"),
            Some(&app.buyer()),
        )
        .await;

    r.assert_status(StatusCode::OK);
    let d: Value = r.json();
    assert_eq!(d["orders"]["value"], 3);
    assert_eq!(d["spend"]["value"]["amount"], 600_000);
    assert_eq!(
        d["favourite_categories"],
        json!([{"name": "pottery", "count": 2}, {"name": "textiles", "count": 1}])
    );
    let liked: Vec<&str> = d["liked_products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["product_id"].as_str().unwrap())
        .collect();
    assert_eq!(liked, ["p1"]);
}

#[tokio::test]
async fn only_the_user_or_an_admin_sees_a_dashboard() {
    let app = TestApp::spawn().await;
    let path = format!("/analytics/dashboard/{ARTISAN}?user_type=artisan");

    let other = app
        .get(
            &path,
            Some(&app.token(OTHER_ARTISAN, common::Role::Artisan)),
        )
        .await;
    let buyer = app.get(&path, Some(&app.buyer())).await;
    let anonymous = app.get(&path, None).await;
    let admin = app.get(&path, Some(&app.admin())).await;
    let own = app.get(&path, Some(&app.artisan())).await;

    other.assert_status(StatusCode::FORBIDDEN);
    buyer.assert_status(StatusCode::FORBIDDEN);
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    admin.assert_status(StatusCode::OK);
    own.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_user_type_or_period_is_422() {
    let app = TestApp::spawn().await;
    for query in [
        "user_type=seller",
        "user_type=artisan&period=14d",
        "period=30d",
    ] {
        let r = app
            .get(
                &format!("/analytics/dashboard/{ARTISAN}?{query}"),
                Some(&app.artisan()),
            )
            .await;
        r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    }
}
