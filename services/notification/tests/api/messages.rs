//! Sending, the delivery log, the inbox, and what survives a crash.

use http::StatusCode;
use serde_json::{Value, json};
use testkit::users::{ARTISAN, BUYER};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{order_placed, spawn, spawn_with, test_settings};

#[tokio::test]
async fn a_message_is_rendered_in_the_users_language_delivered_and_read_in_the_inbox() {
    let app = spawn().await;
    app.set_preferences(BUYER, json!({"language": "hi"})).await;
    let r = app.send(order_placed(BUYER, "in_app")).await;
    r.assert_status(StatusCode::ACCEPTED);
    let id = r.json::<Value>()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/notifications/{id}").as_str())
    );
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered");
    assert_eq!(m["language"], "hi");
    assert_eq!(
        m["body"],
        "आपका ऑर्डर o-1 (₹1,200.00) मिल गया है। भुगतान होते ही कारीगर को सूचना दी जाएगी।"
    );
    assert_eq!(m["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(m["read"], false);

    // The buyer's inbox has it; another user cannot see it.
    let inbox = app
        .get("/notifications?channel=in_app", Some(&app.buyer()))
        .await;
    inbox.assert_status(StatusCode::OK);
    let items = inbox.json::<Value>()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    app.get(&format!("/notifications/{id}"), Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.get(
        &format!("/notifications?user_id={BUYER}"),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // A service may read it but not change it.
    app.call(
        http::Method::POST,
        &format!("/notifications/{id}/read"),
        Some(&app.service_token()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let read = app
        .call(
            http::Method::POST,
            &format!("/notifications/{id}/read"),
            Some(&app.buyer()),
        )
        .await;
    read.assert_status(StatusCode::OK);
    assert_eq!(read.json::<Value>()["read"], true);
}

#[tokio::test]
async fn email_without_a_provider_goes_to_the_dev_inbox_at_the_known_address() {
    let app = spawn().await;
    app.set_preferences(ARTISAN, json!({"email": "meera@example.in"}))
        .await;
    let id = app.send_ok(order_placed(ARTISAN, "email")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    assert_eq!(m["attempts"][0]["provider"], "dev_inbox");
    assert_eq!(m["subject"], "Order o-1 received");
    // No address known: failed, saying so.
    let id = app.send_ok(order_placed("nobody-known", "sms")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "failed");
    assert!(
        m["reason"].as_str().unwrap().contains("no sms address"),
        "{m}"
    );
}

#[tokio::test]
async fn bad_requests_change_nothing_and_name_their_fields() {
    let app = spawn_with(false, test_settings()).await;
    // A variable the template needs is missing: 422 at send time.
    let mut body = order_placed(BUYER, "email");
    body["data"] = json!({"order_id": "o-1"});
    app.send(body).await.assert_invalid_fields(&["data.total"]);
    let mut body = order_placed(BUYER, "email");
    body["template"] = json!("no_such_template");
    app.send(body).await.assert_invalid_fields(&["template"]);
    let mut body = order_placed(BUYER, "email");
    body["template"] = json!("Bad Name");
    app.send(body).await.assert_invalid_fields(&["template"]);
    let mut body = order_placed(BUYER, "email");
    body["data"]["blob"] = json!("x".repeat(20_000));
    app.send(body).await.assert_invalid_fields(&["data"]);
    let mut body = order_placed(BUYER, "pigeon");
    body["channel"] = json!("pigeon");
    app.send(body)
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    let mut body = order_placed(BUYER, "email");
    body["data"] = Value::Object(many);
    app.send(body)
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    // Users may not send.
    app.post_json(
        "/notifications/send",
        &order_placed(BUYER, "email"),
        Some(&app.buyer()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let log = app
        .get(
            &format!("/notifications?user_id={BUYER}"),
            Some(&app.admin()),
        )
        .await;
    assert_eq!(log.json::<Value>()["items"], json!([]));
}

#[tokio::test]
async fn an_idempotency_key_answers_the_first_message_again() {
    let app = spawn_with(false, test_settings()).await;
    let token = app.service_token();
    let send = |body: Value, key: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let path = "/notifications/send";
            let key = [("idempotency-key", key)];
            app.json_with(http::Method::POST, path, &body, Some(token), &key)
                .await
        }
    };
    let first = send(order_placed(BUYER, "in_app"), "k-1").await;
    first.assert_status(StatusCode::ACCEPTED);
    let again = send(order_placed(BUYER, "in_app"), "k-1").await;
    again.assert_status(StatusCode::OK);
    assert_eq!(first.json::<Value>()["id"], again.json::<Value>()["id"]);
    send(order_placed(ARTISAN, "in_app"), "k-1")
        .await
        .assert_invalid_fields(&["Idempotency-Key"]);
    let log = app
        .get(
            &format!("/notifications?user_id={BUYER}"),
            Some(&app.admin()),
        )
        .await;
    assert_eq!(log.json::<Value>()["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bulk_request_is_validated_whole_and_stored_together() {
    let app = spawn().await;
    let mut bad = order_placed(ARTISAN, "in_app");
    bad["data"] = json!({"order_id": "o-2"});
    let body =
        json!({"items": [order_placed(BUYER, "in_app"), bad, order_placed(ARTISAN, "in_app")]});
    let r = app
        .post_json("/notifications/bulk", &body, Some(&app.service_token()))
        .await;
    r.assert_invalid_fields(&["items[1].data.total"]);
    let log = app
        .get(
            &format!("/notifications?user_id={BUYER}"),
            Some(&app.admin()),
        )
        .await;
    assert_eq!(log.json::<Value>()["items"], json!([]));

    let body = json!({"items": [order_placed(BUYER, "in_app"), order_placed(ARTISAN, "in_app")]});
    let r = app
        .post_json("/notifications/bulk", &body, Some(&app.service_token()))
        .await;
    r.assert_status(StatusCode::ACCEPTED);
    let items = r.json::<Value>()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    for item in &items {
        let m = app.settled(item["id"].as_str().unwrap()).await;
        assert_eq!(m["status"], "delivered");
    }
    let too_many: Vec<Value> = (0..501).map(|_| order_placed(BUYER, "in_app")).collect();
    app.post_json(
        "/notifications/bulk",
        &json!({"items": too_many}),
        Some(&app.service_token()),
    )
    .await
    .assert_invalid_fields(&["items"]);
}

#[tokio::test]
async fn a_message_acknowledged_before_a_crash_is_delivered_after_restart_exactly_once() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    // In process: no worker runs, as if the service died right after 202.
    let app = spawn_with(false, test_settings()).await;
    app.endpoint(BUYER, &format!("{}/hook", receiver.uri()))
        .await;
    let id = app.send_ok(order_placed(BUYER, "webhook")).await;
    assert_eq!(app.message(&id).await["status"], "queued");
    assert!(receiver.received_requests().await.unwrap().is_empty());

    let app = app.restart_served().await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    // Another restart sends nothing again.
    let app = app.restart_served().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let got = receiver.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["webhook-id"], id.as_str());
    assert_eq!(
        app.message(&id).await["attempts"].as_array().unwrap().len(),
        1
    );
    // And its delivery is announced once.
    let delivered = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == "notification.delivered")
        .count();
    assert_eq!(delivered, 1);
}
