//! Notifications through the gateway: a buyer orders and pays, and both
//! the buyer and the artisan find the messages in their inboxes, and their
//! emails in the delivery log (the dev inbox), at the addresses they
//! signed up with; the buyer hears when it ships and completes. Nobody
//! reads another's messages.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{AuthApi, eventually};

use crate::send;

/// `user`'s messages on `channel`, once they hold every template in
/// `templates` and each of those is delivered.
async fn delivered(
    http: &reqwest::Client,
    gw: &str,
    token: &str,
    channel: &str,
    templates: &[&str],
) -> Vec<Value> {
    eventually(
        Duration::from_secs(30),
        "the messages delivered",
        || async {
            let (status, page) = send(
                http.get(format!("{gw}/notifications?channel={channel}"))
                    .bearer_auth(token),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["items"].as_array()?.clone();
            let all = templates.iter().all(|t| {
                items
                    .iter()
                    .any(|m| m["template"] == *t && m["status"] == "delivered")
            });
            all.then_some(items)
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_buyer_orders_and_pays_and_both_parties_find_their_messages() {
    let (_system, gw, auth) =
        crate::through_gateway(&["gateway", "auth", "product", "notification"]).await;
    let http = reqwest::Client::new();
    let artisan = auth.new_user("artisan").await.unwrap();
    let buyer = auth.new_user("buyer").await.unwrap();
    let product = crate::create_product(
        &http,
        &gw,
        &artisan.id_token,
        &json!({
            "title": "Dhokra horse", "description": {"en": "Lost-wax cast brass horse."},
            "category": "metalwork", "subcategory": "figurine",
            "price": {"amount": 320_000, "currency": "INR"}, "materials": ["brass"]
        }),
    )
    .await;
    let product_id = product["id"].as_str().unwrap();
    let order_id =
        crate::money::order(&http, &gw, &buyer.id_token, product_id, "notification-e2e").await;
    crate::money::pay_with_sandbox(&http, &gw, &buyer.id_token, &order_id).await;

    let inbox = delivered(
        &http,
        &gw,
        &buyer.id_token,
        "in_app",
        &["welcome", "order_placed", "payment_confirmed"],
    )
    .await;
    let paid = inbox
        .iter()
        .find(|m| m["template"] == "payment_confirmed")
        .unwrap();
    assert!(paid["body"].as_str().unwrap().contains(&order_id), "{paid}");
    assert!(
        paid["body"].as_str().unwrap().contains("₹3,200.00"),
        "{paid}"
    );
    assert_eq!(paid["read"], false);
    let emails = delivered(
        &http,
        &gw,
        &buyer.id_token,
        "email",
        &["order_placed", "payment_confirmed"],
    )
    .await;
    assert!(
        emails
            .iter()
            .all(|m| m["attempts"][0]["provider"] == "dev_inbox")
    );

    let inbox = delivered(
        &http,
        &gw,
        &artisan.id_token,
        "in_app",
        &["new_order", "order_paid"],
    )
    .await;
    let new_order = inbox.iter().find(|m| m["template"] == "new_order").unwrap();
    assert!(new_order["body"].as_str().unwrap().contains(&order_id));
    delivered(
        &http,
        &gw,
        &artisan.id_token,
        "email",
        &["new_order", "order_paid"],
    )
    .await;

    // Shipped, then completed: the buyer is told both.
    crate::money::complete(&http, &gw, &artisan.id_token, &buyer.id_token, &order_id).await;
    let inbox = delivered(
        &http,
        &gw,
        &buyer.id_token,
        "in_app",
        &["order_shipped", "order_completed"],
    )
    .await;
    let shipped = inbox
        .iter()
        .find(|m| m["template"] == "order_shipped")
        .unwrap();
    assert_eq!(
        shipped["body"],
        format!("The artisan has shipped your order {order_id}.")
    );

    // The buyer reads one; the artisan can neither read nor list it.
    let id = paid["id"].as_str().unwrap();
    let (status, read) = send(
        http.post(format!("{gw}/notifications/{id}/read"))
            .bearer_auth(&buyer.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["read"], true);
    let (status, _) = send(
        http.get(format!("{gw}/notifications/{id}"))
            .bearer_auth(&artisan.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        http.get(format!("{gw}/notifications?user_id={}", buyer.uid))
            .bearer_auth(&artisan.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Users cannot send messages; the unsubscribe route is public but
    // only a signed token works.
    let (status, _) = send(
        http.post(format!("{gw}/notifications/send"))
            .bearer_auth(&buyer.id_token)
            .json(&json!({"user_id": artisan.uid, "channel": "in_app", "template": "welcome", "data": {"name": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) =
        send(http.post(format!("{gw}/notifications/unsubscribe?token=forged.token"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}
