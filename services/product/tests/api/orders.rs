//! `/orders`: placing an order idempotently, who may read it, listing my
//! orders, and the status machine with its parties.

use common::Page;
use common::identity::Role;
use http::StatusCode;
use product::domain::orders::OrderStatus;
use product::routes::orders::OrderView;
use serde_json::json;

use crate::helpers::{ARTISAN, BUYER, OTHER_ARTISAN, TestApp, TestResponse, order_body};

/// A product of [`ARTISAN`] at ₹2,499 and its id.
async fn listed(app: &TestApp) -> String {
    app.create_product(&app.artisan(), json!({})).await.id
}

/// One of `product` ordered by [`BUYER`] under `key`; panics unless 201.
async fn placed(app: &TestApp, product: &str, key: &str) -> OrderView {
    let response = app
        .place_order(&app.buyer(), &order_body(product, 1), Some(key))
        .await;
    response.assert_status(StatusCode::CREATED);
    response.json()
}

#[track_caller]
fn status_of(response: &TestResponse) -> OrderStatus {
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
async fn a_paused_product_is_409_and_a_deleted_one_422() {
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

    on_paused.assert_problem(StatusCode::CONFLICT, "not_orderable");
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

#[tokio::test]
async fn an_order_is_read_by_its_buyer_its_artisan_and_admins_only() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    let order = placed(&app, &product, "order-1").await;
    let path = format!("/orders/{}", order.id);

    for token in [app.buyer(), app.artisan(), app.admin()] {
        let response = app.get(&path, Some(&token)).await;

        response.assert_status(StatusCode::OK);
        assert_eq!(response.json::<OrderView>().id, order.id);
    }
    for token in [
        app.token("buyer-stranger", Role::Buyer),
        app.token(OTHER_ARTISAN, Role::Artisan),
    ] {
        app.get(&path, Some(&token))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    app.get(&path, None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn my_orders_are_listed_by_side_newest_first_in_pages() {
    let app = TestApp::spawn().await;
    let meeras = listed(&app).await;
    let ravis = app
        .create_product(&app.token(OTHER_ARTISAN, Role::Artisan), json!({}))
        .await
        .id;
    let a = placed(&app, &meeras, "order-a").await;
    let b = placed(&app, &ravis, "order-b").await;
    let c = placed(&app, &meeras, "order-c").await;
    let other_buyer = app.token("buyer-other", Role::Buyer);
    let d = app
        .place_order(&other_buyer, &order_body(&meeras, 1), Some("order-d"))
        .await
        .json::<OrderView>();

    let first: Page<OrderView> = app
        .get("/orders?role=buyer&limit=2", Some(&app.buyer()))
        .await
        .json();
    let cursor = first.next_cursor.clone().expect("a second page");
    let second: Page<OrderView> = app
        .get(
            &format!("/orders?role=buyer&limit=2&cursor={cursor}"),
            Some(&app.buyer()),
        )
        .await
        .json();
    let received: Page<OrderView> = app
        .get("/orders?role=artisan", Some(&app.artisan()))
        .await
        .json();
    let default_side: Page<OrderView> = app.get("/orders", Some(&app.buyer())).await.json();

    let order_ids =
        |page: &Page<OrderView>| page.items.iter().map(|o| o.id.clone()).collect::<Vec<_>>();
    assert_eq!(order_ids(&first), [c.id.clone(), b.id.clone()]);
    assert_eq!(order_ids(&second), [a.id.as_str()]);
    assert_eq!(second.next_cursor, None);
    assert_eq!(order_ids(&received), [d.id, c.id.clone(), a.id.clone()]);
    assert_eq!(order_ids(&default_side), [c.id.clone(), b.id, a.id]);
    app.move_order(&app.buyer(), &c.id, "paid")
        .await
        .assert_status(StatusCode::OK);
    let paid: Page<OrderView> = app
        .get("/orders?status=paid", Some(&app.buyer()))
        .await
        .json();
    assert_eq!(order_ids(&paid), [c.id]);
    app.get("/orders?role=seller", Some(&app.buyer()))
        .await
        .assert_invalid_fields(&["role"]);
}

#[tokio::test]
async fn an_order_goes_placed_paid_shipped_delivered_completed() {
    let app = TestApp::spawn().await;
    let order = placed(&app, &listed(&app).await, "order-1").await;

    assert_eq!(
        status_of(&app.move_order(&app.buyer(), &order.id, "paid").await),
        OrderStatus::Paid
    );
    assert_eq!(
        status_of(&app.move_order(&app.artisan(), &order.id, "shipped").await),
        OrderStatus::Shipped
    );
    assert_eq!(
        status_of(&app.move_order(&app.buyer(), &order.id, "delivered").await),
        OrderStatus::Delivered
    );
    let completed = app.move_order(&app.buyer(), &order.id, "completed").await;

    assert_eq!(status_of(&completed), OrderStatus::Completed);
    let history: Vec<OrderStatus> = completed
        .json::<OrderView>()
        .order
        .history
        .iter()
        .map(|h| h.status)
        .collect();
    use OrderStatus::*;
    assert_eq!(history, [Placed, Paid, Shipped, Delivered, Completed]);
    let read: OrderView = app
        .get(&format!("/orders/{}", order.id), Some(&app.buyer()))
        .await
        .json();
    assert_eq!(read.order.status, Completed);
    assert_eq!(read.order.history[2].by, ARTISAN);
}

#[tokio::test]
async fn moves_outside_the_machine_are_409() {
    let app = TestApp::spawn().await;
    let order = placed(&app, &listed(&app).await, "order-1").await;

    app.move_order(&app.artisan(), &order.id, "shipped")
        .await
        .assert_problem(StatusCode::CONFLICT, "illegal_transition");
    app.move_order(&app.buyer(), &order.id, "completed")
        .await
        .assert_problem(StatusCode::CONFLICT, "illegal_transition");
    for (token, to) in [
        (app.buyer(), "paid"),
        (app.artisan(), "shipped"),
        (app.buyer(), "delivered"),
        (app.buyer(), "completed"),
    ] {
        app.move_order(&token, &order.id, to)
            .await
            .assert_status(StatusCode::OK);
    }
    for to in ["cancelled", "placed", "paid", "completed"] {
        app.move_order(&app.admin(), &order.id, to)
            .await
            .assert_problem(StatusCode::CONFLICT, "illegal_transition");
    }
    app.move_order(&app.buyer(), &order.id, "refunded")
        .await
        .assert_invalid_fields(&["status"]);
}

#[tokio::test]
async fn the_wrong_party_is_403_and_a_stranger_404() {
    let app = TestApp::spawn().await;
    let order = placed(&app, &listed(&app).await, "order-1").await;

    app.move_order(&app.artisan(), &order.id, "paid")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.move_order(&app.buyer(), &order.id, "paid")
        .await
        .assert_status(StatusCode::OK);
    app.move_order(&app.buyer(), &order.id, "shipped")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.move_order(
        &app.token("buyer-stranger", Role::Buyer),
        &order.id,
        "cancelled",
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let read: OrderView = app
        .get(&format!("/orders/{}", order.id), Some(&app.buyer()))
        .await
        .json();
    assert_eq!(read.order.status, OrderStatus::Paid);
}

#[tokio::test]
async fn an_order_may_be_cancelled_before_shipping_but_not_after() {
    let app = TestApp::spawn().await;
    let product = listed(&app).await;
    let unpaid = placed(&app, &product, "order-1").await;
    let paid = placed(&app, &product, "order-2").await;
    let shipped = placed(&app, &product, "order-3").await;
    app.move_order(&app.buyer(), &paid.id, "paid")
        .await
        .assert_status(StatusCode::OK);
    app.move_order(&app.buyer(), &shipped.id, "paid")
        .await
        .assert_status(StatusCode::OK);
    app.move_order(&app.artisan(), &shipped.id, "shipped")
        .await
        .assert_status(StatusCode::OK);

    assert_eq!(
        status_of(&app.move_order(&app.buyer(), &unpaid.id, "cancelled").await),
        OrderStatus::Cancelled
    );
    assert_eq!(
        status_of(&app.move_order(&app.artisan(), &paid.id, "cancelled").await),
        OrderStatus::Cancelled
    );
    app.move_order(&app.buyer(), &shipped.id, "cancelled")
        .await
        .assert_problem(StatusCode::CONFLICT, "illegal_transition");
    app.move_order(&app.buyer(), &unpaid.id, "paid")
        .await
        .assert_problem(StatusCode::CONFLICT, "illegal_transition");
}
