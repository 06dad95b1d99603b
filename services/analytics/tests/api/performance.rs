//! `GET /analytics/performance/{product_id}`.

use http::StatusCode;
use serde_json::Value;
use testkit::users::OTHER_ARTISAN;

use crate::helpers::{TestApp, ago};

#[tokio::test]
async fn a_product_shows_engagement_sales_regions_and_an_explained_score() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Vase").await;
    app.listed_by("p2", OTHER_ARTISAN, "pottery", "Bowl").await;
    app.viewed("v1", "p1", 40, ago(2)).await;
    app.viewed("v2", "p2", 10, ago(2)).await;
    app.engaged("l1", "p1", "like", 1, "buyer-1", ago(2)).await;
    app.engaged("s1", "p1", "share", 1, "buyer-1", ago(2)).await;
    app.sold("o1", "p1", 100_000, ago(1), "Karnataka").await;
    app.sold("o2", "p1", 100_000, ago(1), "Karnataka").await;
    app.sold("o3", "p1", 150_000, ago(1), "Tamil Nadu").await;

    let r = app
        .get("/analytics/performance/p1", Some(&app.artisan()))
        .await;

    r.assert_status(StatusCode::OK);
    let p: Value = r.json();
    assert_eq!(p["views"], 40);
    assert_eq!(p["likes"], 1);
    assert_eq!(p["shares"], 1);
    assert_eq!(p["orders"], 3);
    assert_eq!(p["units_sold"], 3);
    assert_eq!(p["revenue"]["amount"], 350_000);
    assert_eq!(p["conversion"], 0.075);
    assert_eq!(p["buyer_regions"][0]["name"], "Karnataka");
    assert_eq!(p["buyer_regions"][0]["count"], 2);
    assert_eq!(p["buyer_regions"][1]["name"], "Tamil Nadu");
    // Better than the only other product on every part.
    assert_eq!(p["score"]["value"], 100.0);
    assert_eq!(p["score"]["compared_with"], 2);
    let points: f64 = p["score"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|part| part["points"].as_f64().unwrap())
        .sum();
    assert_eq!(points, 100.0);
}

#[tokio::test]
async fn only_its_artisan_or_an_admin_sees_a_products_performance() {
    let app = TestApp::spawn().await;
    app.listed("p1", "pottery", "Vase").await;

    let other = app
        .get(
            "/analytics/performance/p1",
            Some(&app.token(OTHER_ARTISAN, common::Role::Artisan)),
        )
        .await;
    let buyer = app
        .get("/analytics/performance/p1", Some(&app.buyer()))
        .await;
    let admin = app
        .get("/analytics/performance/p1", Some(&app.admin()))
        .await;
    let unknown = app
        .get("/analytics/performance/nope", Some(&app.admin()))
        .await;

    other.assert_status(StatusCode::FORBIDDEN);
    buyer.assert_status(StatusCode::FORBIDDEN);
    admin.assert_status(StatusCode::OK);
    unknown.assert_status(StatusCode::NOT_FOUND);
}
