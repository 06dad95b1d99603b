//! Events out: what the outbox holds after each change (and after a
//! refused one), and the relay settling it while the service runs.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use events::v1::{
    Money, OrderCompleted, OrderPlaced, ProductCreated, ProductDeleted, ProductUpdated,
};
use events::{Event, OutboxEntry, OutboxStatus, Received};
use http::StatusCode;
use product::routes::orders::OrderView;
use serde_json::json;

use crate::helpers::{ARTISAN, BUYER, TestApp, order_body, product_body};

/// The entries of one type, oldest first.
fn of_type<'a>(outbox: &'a [OutboxEntry], event_type: &str) -> Vec<&'a OutboxEntry> {
    outbox
        .iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

/// The event an entry carries.
#[track_caller]
pub(crate) fn payload<E: Event>(entry: &OutboxEntry) -> E {
    let bytes = STANDARD.decode(&entry.data).expect("outbox data is base64");
    let received = Received::from_bytes(&bytes).expect("outbox data is an envelope");
    assert_eq!(received.event_id(), entry.event_id);
    assert_eq!(received.envelope.source, product::NAME);
    received.decode().expect("the payload matches the type")
}

pub(crate) fn inr(amount: i64) -> Option<Money> {
    Some(Money {
        amount,
        currency: "INR".to_owned(),
    })
}
#[tokio::test]
async fn creating_a_product_leaves_one_pending_product_created_event() {
    let app = TestApp::spawn().await;

    let product = app.create_product(&app.artisan(), json!({})).await;

    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let entry = &outbox[0];
    assert_eq!(entry.event_type, "product.created");
    assert_eq!(entry.status, OutboxStatus::Pending);
    assert_eq!(entry.subject, product.id);
    let event: ProductCreated = payload(entry);
    assert_eq!(event.product_id, product.id);
    assert_eq!(event.artisan_id, ARTISAN);
    assert_eq!(event.price, inr(249_900));
    assert_eq!(event.materials, ["silk", "cotton thread"]);
    assert_eq!(event.description.get("hi"), product.description.get("hi"));
}

#[tokio::test]
async fn a_refused_create_leaves_no_event() {
    let app = TestApp::spawn().await;

    let invalid = app
        .post_json(
            "/products",
            &product_body(json!({"category": "spaceships"})),
            Some(&app.artisan()),
        )
        .await;
    let forbidden = app
        .post_json("/products", &product_body(json!({})), Some(&app.buyer()))
        .await;

    invalid.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    forbidden.assert_status(StatusCode::FORBIDDEN);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn an_update_leaves_a_product_updated_event_naming_the_changed_fields() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    app.patch_json(
        &path,
        &json!({"title": "Indigo stole", "price": {"amount": 99_900, "currency": "INR"}}),
        Some(&app.artisan()),
        Some(&etag),
    )
    .await
    .assert_status(StatusCode::OK);

    let outbox = app.outbox().await;
    let types: Vec<&str> = outbox.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["product.created", "product.updated"]);
    let event: ProductUpdated = payload(&outbox[1]);
    assert_eq!(event.product_id, product.id);
    assert_eq!(event.changed_fields, ["title", "price"]);
    assert_eq!(event.price, inr(99_900));
    assert_eq!(event.status, "active");
    assert_eq!(
        (event.category.as_str(), event.region.as_str()),
        ("textiles", "West Bengal")
    );
}

#[tokio::test]
async fn a_refused_update_leaves_no_event() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);

    app.patch_json(
        &path,
        &json!({"title": "x"}),
        Some(&app.artisan()),
        Some("\"999\""),
    )
    .await
    .assert_status(StatusCode::PRECONDITION_FAILED);

    assert_eq!(of_type(&app.outbox().await, "product.updated").len(), 0);
}

#[tokio::test]
async fn a_delete_leaves_a_product_deleted_event() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;

    app.delete(&format!("/products/{}", product.id), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let outbox = app.outbox().await;
    let deleted = of_type(&outbox, "product.deleted");
    assert_eq!(deleted.len(), 1);
    let event: ProductDeleted = payload(deleted[0]);
    assert_eq!(
        (event.product_id.as_str(), event.artisan_id.as_str()),
        (product.id.as_str(), ARTISAN)
    );
}

#[tokio::test]
async fn an_order_leaves_order_placed_and_its_completion_order_completed() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let placed = app
        .place_order(&app.buyer(), &order_body(&product.id, 2), Some("order-1"))
        .await;
    placed.assert_status(StatusCode::CREATED);
    let order: OrderView = placed.json();

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

    let outbox = app.outbox().await;
    let types: Vec<&str> = outbox.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "product.created",
            "order.placed",
            "order.paid",
            "order.completed"
        ]
    );
    let placed: OrderPlaced = payload(&outbox[1]);
    assert_eq!(placed.order_id, order.id);
    assert_eq!(
        (placed.buyer_id.as_str(), placed.artisan_id.as_str()),
        (BUYER, ARTISAN)
    );
    assert_eq!(placed.quantity, 2);
    assert_eq!(placed.total, inr(2 * 249_900));
    let completed: OrderCompleted = payload(&outbox[3]);
    assert_eq!(completed.order_id, order.id);
    assert_eq!(completed.total, inr(2 * 249_900));
    // The sale as a market fact for pricing and analytics.
    assert_eq!(completed.quantity, 2);
    assert_eq!(completed.unit_price, inr(249_900));
    assert_eq!(
        (completed.category.as_str(), completed.subcategory.as_str()),
        ("textiles", "stole")
    );
    assert_eq!(completed.region, "West Bengal");
    let created: ProductCreated = payload(&outbox[0]);
    assert_eq!(created.production_time_days, 21);
    assert_eq!(outbox[3].subject, order.id);
}

#[tokio::test]
async fn a_repeated_order_adds_no_second_event() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let body = order_body(&product.id, 1);

    app.place_order(&app.buyer(), &body, Some("order-1"))
        .await
        .assert_status(StatusCode::CREATED);
    app.place_order(&app.buyer(), &body, Some("order-1"))
        .await
        .assert_status(StatusCode::OK);
    app.place_order(&app.buyer(), &order_body(&product.id, 5), Some("order-1"))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(of_type(&app.outbox().await, "order.placed").len(), 1);
}

#[tokio::test]
async fn the_relay_settles_the_outbox_while_the_service_runs() {
    let app = TestApp::serve().await;

    let product = app.create_product(&app.artisan(), json!({})).await;

    testkit::eventually(
        Duration::from_secs(2),
        "the relay to settle product.created",
        || async {
            let outbox = app.outbox().await;
            (outbox.len() == 1
                && outbox[0].status == OutboxStatus::Sent
                && outbox[0].subject == product.id)
                .then_some(())
        },
    )
    .await
    .unwrap();
}
