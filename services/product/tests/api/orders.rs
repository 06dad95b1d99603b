//! `POST /orders`: placing an order idempotently, who may, and what is
//! refused.

use common::Page;
use common::identity::Role;
use http::StatusCode;
use product::domain::orders::OrderStatus;
use product::routes::orders::OrderView;
use serde_json::json;

use crate::helpers::{ARTISAN, BUYER, OTHER_ARTISAN, TestApp, TestResponse, order_body};

/// A product of [`ARTISAN`] at ₹2,499 and its id.
pub(crate) async fn listed(app: &TestApp) -> String {
    app.create_product(&app.artisan(), json!({})).await.id
}

/// One of `product` ordered by [`BUYER`] under `key`; panics unless 201.
pub(crate) async fn placed(app: &TestApp, product: &str, key: &str) -> OrderView {
    let response = app
        .place_order(&app.buyer(), &order_body(product, 1), Some(key))
        .await;
    response.assert_status(StatusCode::CREATED);
    response.json()
}

#[track_caller]
pub(crate) fn status_of(response: &TestResponse) -> OrderStatus {
    response.assert_status(StatusCode::OK);
    response.json::<OrderView>().order.status
}

#[tokio::test]
async fn placing_without_an_idempotency_key_is_400() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;

    let response = app
        .place_order(&app.buyer(), &order_body(&product, 1), None)
        .await;

    response.assert_problem(StatusCode::BAD_REQUEST, "idempotency_key_required");
    assert!(
        app.get("/orders", Some(&app.buyer()))
            .await
            .json::<Page<OrderView>>()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_buyer_places_an_order_for_price_times_quantity() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;

    let response = app
        .place_order(&app.buyer(), &order_body(&product, 3), Some("order-1"))
        .await;

    response.assert_status(StatusCode::CREATED);
    let order: OrderView = response.json();
    assert_eq!(order.order.total.amount, 3 * 249_900);
    assert_eq!(order.order.unit_price.amount, 249_900);
    assert_eq!(order.order.total.currency.code(), "INR");
    assert_eq!(order.order.status, OrderStatus::Placed);
    assert_eq!(order.order.buyer_id, BUYER);
    assert_eq!(order.order.artisan_id, ARTISAN);
    assert_eq!(order.order.product_title, "Kantha stitched silk stole");
    assert_eq!(order.order.history.len(), 1);
}

#[tokio::test]
async fn the_same_key_and_body_answer_the_first_order_again() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    let first = placed(&app, &product, "order-1").await;

    let repeat = app
        .place_order(&app.buyer(), &order_body(&product, 1), Some("order-1"))
        .await;

    repeat.assert_status(StatusCode::OK);
    assert_eq!(repeat.json::<OrderView>().id, first.id);
    let mine: Page<OrderView> = app.get("/orders", Some(&app.buyer())).await.json();
    assert_eq!(mine.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_place_one_order() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    let body = order_body(&product, 1);
    let token = app.buyer();

    let responses =
        futures::future::join_all((0..5).map(|_| app.place_order(&token, &body, Some("order-1"))))
            .await;

    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for response in &responses {
        assert!(
            matches!(response.status, StatusCode::CREATED | StatusCode::OK),
            "{}: {}",
            response.status,
            response.body
        );
        created += usize::from(response.status == StatusCode::CREATED);
        ids.insert(response.json::<OrderView>().id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    assert_eq!(
        app.get("/orders", Some(&token))
            .await
            .json::<Page<OrderView>>()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    placed(&app, &product, "order-1").await;

    let response = app
        .place_order(&app.buyer(), &order_body(&product, 2), Some("order-1"))
        .await;

    response.assert_invalid_fields(&["Idempotency-Key"]);
}

#[tokio::test]
async fn the_same_key_of_another_buyer_is_another_order() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    let first = placed(&app, &product, "order-1").await;

    let response = app
        .place_order(
            &app.token("buyer-other", Role::Buyer),
            &order_body(&product, 1),
            Some("order-1"),
        )
        .await;

    response.assert_status(StatusCode::CREATED);
    assert_ne!(response.json::<OrderView>().id, first.id);
}

#[tokio::test]
async fn only_buyers_place_orders() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;

    for token in [app.token(OTHER_ARTISAN, Role::Artisan), app.admin()] {
        let response = app
            .place_order(&token, &order_body(&product, 1), Some("order-1"))
            .await;

        response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

#[tokio::test]
async fn a_paused_or_deleted_product_reads_as_unknown_to_a_buyer_ordering_it() {
    let app = TestApp::spawn().await;
    let paused = listed(&app).await;
    let path = format!("/products/{paused}");
    let etag = app.get(&path, None).await.etag();
    app.patch_json(
        &path,
        &json!({"status": "paused"}),
        Some(&app.artisan()),
        Some(&etag),
    )
    .await
    .assert_status(StatusCode::OK);
    let deleted = listed(&app).await;
    app.delete(&format!("/products/{deleted}"), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let on_paused = app
        .place_order(&app.buyer(), &order_body(&paused, 1), Some("order-1"))
        .await;
    let on_deleted = app
        .place_order(&app.buyer(), &order_body(&deleted, 1), Some("order-2"))
        .await;
    let on_unknown = app
        .place_order(
            &app.buyer(),
            &order_body("no-such-product", 1),
            Some("order-3"),
        )
        .await;

    // A buyer cannot see the paused product: it reads as unknown.
    on_paused.assert_invalid_fields(&["product_id"]);
    on_deleted.assert_invalid_fields(&["product_id"]);
    on_unknown.assert_invalid_fields(&["product_id"]);
}

#[tokio::test]
async fn placing_validates_quantity_and_address() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    let mut body = order_body(&product, 0);
    body["shipping_address"]["country"] = json!("India");
    body["shipping_address"]["phone"] = json!("call me");

    let response = app.place_order(&app.buyer(), &body, Some("order-1")).await;

    response.assert_invalid_fields(&[
        "quantity",
        "shipping_address.country",
        "shipping_address.phone",
    ]);
}
