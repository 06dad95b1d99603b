//! Analytics through the gateway: a buyer finds a product by searching,
//! opens it, likes it, orders it, pays and completes the order; the
//! artisan's dashboard shows the sale, the view, the search that sold it,
//! and the buyer's shows the order and the like.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{AuthApi, eventually};

use crate::send;

#[tokio::test]
async fn a_sale_found_by_search_reaches_the_artisans_dashboard() {
    let (_system, gw, auth) =
        crate::through_gateway(&["gateway", "auth", "product", "analytics"]).await;
    let http = reqwest::Client::new();
    let artisan = auth.new_user("artisan").await.unwrap();
    let buyer = auth.new_user("buyer").await.unwrap();
    let product = crate::create_product(&http, &gw, &artisan.id_token, &json!({
                "title": "Pattachitra scroll", "description": {"en": "Painted cloth scroll from Raghurajpur."},
                "category": "painting", "subcategory": "scroll",
                "price": {"amount": 450_000, "currency": "INR"}, "materials": ["cloth"],
                "region": "Odisha"
            })).await;
    let id = product["id"].as_str().unwrap().to_owned();

    // Found by a search (once the index has it), opened from its results.
    let search_id = eventually(Duration::from_secs(20), "the product in search", || async {
        let (_, page) = send(
            http.post(format!("{gw}/products/search"))
                .json(&json!({"query": "Pattachitra"})),
        )
        .await;
        let found = page["items"]
            .as_array()?
            .iter()
            .any(|h| h["product"]["id"] == id);
        found.then(|| page["search_id"].as_str().unwrap().to_owned())
    })
    .await
    .unwrap();
    let (status, _) = send(
        http.get(format!("{gw}/products/{id}?search_id={search_id}"))
            .bearer_auth(&buyer.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        http.put(format!("{gw}/products/{id}/like"))
            .bearer_auth(&buyer.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, order) = send(
        http.post(format!("{gw}/orders"))
            .bearer_auth(&buyer.id_token)
            .header("idempotency-key", "analytics-e2e")
            .json(
                &json!({"product_id": id, "quantity": 2, "search_id": search_id,
                "shipping_address": {"name": "Anita Rao", "line1": "12 MG Road",
                "city": "Bengaluru", "state": "Karnataka", "postal_code": "560001",
                "country": "IN", "phone": "+919845012345"}}),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    crate::money::pay_with_sandbox(&http, &gw, &buyer.id_token, &order_id).await;
    crate::money::complete(&http, &gw, &artisan.id_token, &buyer.id_token, &order_id).await;

    let dashboard = format!("{gw}/analytics/dashboard/{}?user_type=artisan", artisan.uid);
    let d: Value = eventually(
        Duration::from_secs(30),
        "the sale on the dashboard",
        || async {
            let (status, d) = send(http.get(&dashboard).bearer_auth(&artisan.id_token)).await;
            assert_eq!(status, StatusCode::OK, "{d}");
            let seen = d["metrics"]["orders"]["value"] == 1
                && d["metrics"]["views"]["value"].as_i64() >= Some(1)
                && d["search_terms"][0]["clicks"].as_i64() >= Some(1);
            seen.then_some(d)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        d["metrics"]["revenue"]["value"],
        json!({"amount": 900_000, "currency": "INR"})
    );
    assert_eq!(d["metrics"]["units"]["value"], 2);
    assert_eq!(d["search_terms"][0]["query"], "pattachitra");
    assert_eq!(d["search_terms"][0]["orders"], 1);
    assert_eq!(d["top_products"][0]["product_id"], id);

    // The buyer sees their order and like; not the artisan's dashboard.
    let (status, mine) = send(
        http.get(format!(
            "{gw}/analytics/dashboard/{}?user_type=buyer",
            buyer.uid
        ))
        .bearer_auth(&buyer.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["orders"]["value"], 1);
    assert_eq!(mine["liked_products"][0]["product_id"], id);
    let (status, _) = send(http.get(&dashboard).bearer_auth(&buyer.id_token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The product's performance, with where its buyer is.
    let (status, perf) = send(
        http.get(format!("{gw}/analytics/performance/{id}"))
            .bearer_auth(&artisan.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{perf}");
    assert_eq!(
        perf["buyer_regions"],
        json!([{"name": "Karnataka", "count": 2}])
    );
}
