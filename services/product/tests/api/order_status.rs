//! Orders after placing: who may read one, listing my orders, and the
//! status machine with its parties.

use common::Page;
use common::identity::Role;
use http::StatusCode;
use product::domain::orders::OrderStatus;
use product::routes::orders::OrderView;
use serde_json::json;

use crate::helpers::{ARTISAN, OTHER_ARTISAN, TestApp, order_body};
use crate::orders::{listed, placed, status_of};

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
    app.pay(&c.id).await;
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

    app.pay(&order.id).await;
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
    assert_eq!(read_by_provider(&completed), "provider:sandbox");
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
    app.pay(&order.id).await;
    for (token, to) in [
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
    // Paid means money received: the buyer's word is not enough.
    app.move_order(&app.buyer(), &order.id, "paid")
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.pay(&order.id).await;
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
    app.pay(&paid.id).await;
    app.pay(&shipped.id).await;
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
    app.move_order(&app.admin(), &unpaid.id, "paid")
        .await
        .assert_problem(StatusCode::CONFLICT, "illegal_transition");
}

/// Who made the paid move in an order's history.
fn read_by_provider(response: &crate::helpers::TestResponse) -> String {
    let order = response.json::<OrderView>().order;
    order
        .history
        .iter()
        .find(|h| h.status == OrderStatus::Paid)
        .map(|h| h.by.clone())
        .unwrap_or_default()
}
