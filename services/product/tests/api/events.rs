//! Events out: what the outbox holds after each change (and after a
//! refused one), and the relay settling it while the service runs.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use events::v1::{
    EngagementRecorded, Money, OrderCompleted, OrderPlaced, ProductCreated, ProductDeleted,
    ProductUpdated, SearchPerformed,
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
async fn an_order_leaves_order_placed_its_shipping_order_shipped_and_its_completion_order_completed()
 {
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
            "order.shipped",
            "order.completed"
        ]
    );
    let shipped: events::v1::OrderShipped = payload(&outbox[3]);
    assert_eq!(
        (shipped.order_id.as_str(), shipped.product_id.as_str()),
        (order.id.as_str(), product.id.as_str())
    );
    assert_eq!(
        (shipped.buyer_id.as_str(), shipped.artisan_id.as_str()),
        (BUYER, ARTISAN)
    );
    let placed: OrderPlaced = payload(&outbox[1]);
    assert_eq!(placed.order_id, order.id);
    assert_eq!(
        (placed.buyer_id.as_str(), placed.artisan_id.as_str()),
        (BUYER, ARTISAN)
    );
    assert_eq!(placed.quantity, 2);
    assert_eq!(placed.total, inr(2 * 249_900));
    assert_eq!(placed.buyer_region, "Karnataka");
    assert_eq!(placed.search_id, "");
    let completed: OrderCompleted = payload(&outbox[4]);
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
    assert_eq!(outbox[4].subject, order.id);
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
        Duration::from_secs(10),
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

#[tokio::test]
async fn a_search_is_announced_once_and_followed_to_its_clicks_and_orders() {
    let app = TestApp::serve().await;
    for i in 0..3 {
        app.create_product(
            &app.artisan(),
            json!({"title": format!("Blue pottery vase {i}"), "category": "pottery", "subcategory": "vase"}),
        )
        .await;
    }
    // Served: the index follows the store every 50 ms.
    let first: product::routes::search::SearchPage = testkit::eventually(
        Duration::from_secs(10),
        "the index to hold the three products",
        async || {
            let page = app
                .search(&json!({"query": "  Blue POTTERY ",
                    "filters": {"limit": 2, "category": "pottery"}}))
                .await;
            page.assert_status(StatusCode::OK);
            let page: product::routes::search::SearchPage = page.json();
            page.next_cursor.is_some().then_some(page)
        },
    )
    .await
    .expect("a first page with a next");
    let second = app
        .search(&json!({"query": "blue pottery",
            "filters": {"limit": 2, "category": "pottery", "cursor": first.next_cursor}}))
        .await;
    let second: product::routes::search::SearchPage = second.json();
    assert_eq!(second.search_id, first.search_id, "one search, every page");

    let outbox = app.outbox().await;
    let searches = of_type(&outbox, "search.performed");
    // Each first page asked for while the index caught up was announced;
    // the second page was not.
    let announced: Vec<SearchPerformed> = searches.into_iter().map(payload).collect();
    assert_eq!(
        announced
            .iter()
            .filter(|e| e.search_id == first.search_id)
            .count(),
        1
    );
    let event = announced.last().expect("announced");
    assert_eq!(event.search_id, first.search_id);
    assert_eq!(event.query, "blue pottery");
    assert_eq!(event.terms, ["blue", "pottery"]);
    assert_eq!(
        event.filters.get("category").map(String::as_str),
        Some("pottery")
    );
    assert_eq!(event.total, 3);
    let shown: Vec<String> = first.items.iter().map(|h| h.product.id.clone()).collect();
    assert_eq!(event.result_ids, shown);
    assert!(event.filters.keys().all(|k| k != "user_id"));

    // Opened from the results: a view, and a click of that search.
    let opened = &shown[0];
    app.get(
        &format!("/products/{opened}?search_id={}", first.search_id),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
    app.get(&format!("/products/{opened}?search_id=not%2Fan-id"), None)
        .await
        .assert_invalid_fields(&["search_id"]);
    let click: EngagementRecorded = testkit::eventually(
        Duration::from_secs(10),
        "the click to be flushed",
        async || {
            let outbox = app.outbox().await;
            of_type(&outbox, "product.engagement")
                .into_iter()
                .map(payload::<EngagementRecorded>)
                .find(|e| e.kind == "click")
        },
    )
    .await
    .expect("a click event");
    assert_eq!(
        (click.product_id.as_str(), click.count),
        (opened.as_str(), 1)
    );
    assert_eq!(click.search_id, first.search_id);

    let mut body = order_body(opened, 1);
    body["search_id"] = json!(first.search_id);
    app.place_order(&app.buyer(), &body, Some("from-search"))
        .await
        .assert_status(StatusCode::CREATED);
    body["search_id"] = json!("no/such");
    app.place_order(&app.buyer(), &body, Some("bad-search"))
        .await
        .assert_invalid_fields(&["search_id"]);
    let outbox = app.outbox().await;
    let placed: OrderPlaced = payload(of_type(&outbox, "order.placed")[0]);
    assert_eq!(placed.search_id, first.search_id);
}
