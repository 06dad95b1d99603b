//! Webhooks: signed as Standard Webhooks says (checked by an independent
//! implementation), retried with the same id, disabled when gone.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;
use testkit::users::{ARTISAN, BUYER};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{order_placed, spawn, spawn_with, test_settings};

/// The request's headers as the `http` crate holds them.
fn headers(r: &wiremock::Request) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in r.headers.iter() {
        map.insert(
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    map
}

#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_webhook_id_and_verifies() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&receiver)
        .await;
    let app = spawn().await;
    let (_, secret) = app
        .endpoint(BUYER, &format!("{}/hook", receiver.uri()))
        .await;
    assert!(secret.starts_with("whsec_"));
    let id = app.send_ok(order_placed(BUYER, "webhook")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    let attempts = m["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["outcome"], "retry");
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[1]["outcome"], "delivered");

    let got = receiver.received_requests().await.unwrap();
    assert_eq!(got.len(), 2);
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    for request in &got {
        assert_eq!(request.headers["webhook-id"], id.as_str());
        verifier
            .verify(&request.body, &headers(request))
            .expect("a valid signature");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "notification.order_placed");
        assert_eq!(body["data"]["data"]["order_id"], "o-1");
    }
    // A tampered body does not verify.
    assert!(
        verifier
            .verify(b"{\"forged\":true}", &headers(&got[1]))
            .is_err()
    );
}

#[tokio::test]
async fn a_rotated_secret_and_the_previous_one_both_verify_during_the_overlap() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let app = spawn().await;
    let (eid, old) = app
        .endpoint(ARTISAN, &format!("{}/hook", receiver.uri()))
        .await;
    let r = app
        .call(
            http::Method::POST,
            &format!("/notifications/webhooks/{eid}/rotate"),
            Some(&app.artisan()),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let new = r.json::<Value>()["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let id = app.send_ok(order_placed(ARTISAN, "webhook")).await;
    assert_eq!(app.settled(&id).await["status"], "delivered");
    let got = receiver.received_requests().await.unwrap();
    let h = headers(&got[0]);
    assert_eq!(
        h["webhook-signature"].to_str().unwrap().split(' ').count(),
        2
    );
    for secret in [&old, &new] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&got[0].body, &h)
            .expect("verifies");
    }
    // Listing shows no secret; another user cannot rotate it.
    let list = app
        .get("/notifications/webhooks", Some(&app.artisan()))
        .await;
    assert!(list.json::<Value>()["items"][0].get("secret").is_none());
    app.call(
        http::Method::POST,
        &format!("/notifications/webhooks/{eid}/rotate"),
        Some(&app.buyer()),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn gone_disables_the_endpoint_at_once_and_its_owner_is_told() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&receiver)
        .await;
    let app = spawn().await;
    let (eid, _) = app
        .endpoint(BUYER, &format!("{}/gone", receiver.uri()))
        .await;
    let id = app.send_ok(order_placed(BUYER, "webhook")).await;
    let m = app.settled(&id).await;
    // Every endpoint is gone: delivered to none.
    assert_eq!(m["status"], "failed");
    assert_eq!(m["attempts"][0]["status_code"], 410);
    let list = app.get("/notifications/webhooks", Some(&app.buyer())).await;
    let e = &list.json::<Value>()["items"][0];
    assert_eq!(e["enabled"], false);
    assert!(e["disabled_reason"].as_str().unwrap().contains("410"));
    let inbox = app
        .get("/notifications?channel=in_app", Some(&app.buyer()))
        .await;
    let items = inbox.json::<Value>()["items"].as_array().unwrap().clone();
    assert!(
        items.iter().any(|n| n["template"] == "webhook_disabled"),
        "{items:?}"
    );
    // The next message finds no endpoint and fails; replaying after the
    // owner enables it again delivers it under the same id.
    let id = app.send_ok(order_placed(BUYER, "webhook")).await;
    assert_eq!(app.settled(&id).await["status"], "failed");
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    app.call(
        http::Method::POST,
        &format!("/notifications/webhooks/{eid}/enable"),
        Some(&app.buyer()),
    )
    .await
    .assert_status(StatusCode::OK);
    let r = app
        .call(
            http::Method::POST,
            &format!("/notifications/{id}/retry"),
            Some(&app.buyer()),
        )
        .await;
    r.assert_status(StatusCode::ACCEPTED);
    assert_eq!(app.settled(&id).await["status"], "delivered");
    assert_eq!(
        receiver.received_requests().await.unwrap()[0].headers["webhook-id"],
        id.as_str()
    );
    app.call(
        http::Method::POST,
        &format!("/notifications/{id}/retry"),
        Some(&app.buyer()),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "not_replayable");
}

#[tokio::test]
async fn an_endpoint_failing_longer_than_allowed_is_disabled_and_redirects_are_not_followed() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", "http://169.254.169.254/latest/meta-data"),
        )
        .mount(&receiver)
        .await;
    let mut settings = test_settings();
    settings.webhooks.disable_after_secs = 0;
    settings.max_attempts = 2;
    let app = spawn_with(true, settings).await;
    app.endpoint(BUYER, &format!("{}/moved", receiver.uri()))
        .await;
    let id = app.send_ok(order_placed(BUYER, "webhook")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "failed");
    assert_eq!(m["attempts"][0]["status_code"], 302);
    // The redirect was not followed: the receiver saw one request.
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1);
    let list = app.get("/notifications/webhooks", Some(&app.buyer())).await;
    assert_eq!(list.json::<Value>()["items"][0]["enabled"], false);
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_a_huge_answer_is_not_read_whole() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/huge"))
        .respond_with(ResponseTemplate::new(500).set_body_bytes(vec![b'x'; 4 * 1024 * 1024]))
        .mount(&receiver)
        .await;
    let mut settings = test_settings();
    settings.webhooks.timeout_ms = 300;
    settings.max_attempts = 1;
    let app = spawn_with(true, settings).await;
    app.endpoint(BUYER, &format!("{}/slow", receiver.uri()))
        .await;
    app.endpoint(ARTISAN, &format!("{}/huge", receiver.uri()))
        .await;
    let slow = app.send_ok(order_placed(BUYER, "webhook")).await;
    let huge = app.send_ok(order_placed(ARTISAN, "webhook")).await;
    let m = app.settled(&slow).await;
    assert_eq!(m["status"], "failed");
    assert_eq!(m["attempts"][0]["detail"], "timed out");
    let m = app.settled(&huge).await;
    assert_eq!(m["attempts"][0]["status_code"], 500);
    assert!(m["attempts"][0]["detail"].as_str().unwrap().len() < 400);
}

#[tokio::test]
async fn a_user_has_at_most_the_configured_endpoints_and_removing_one_frees_its_place() {
    let mut settings = test_settings();
    settings.webhooks.max_endpoints = 2;
    let app = spawn_with(false, settings).await;
    let hook = |n: u8| serde_json::json!({"url": format!("http://127.0.0.1:9/hook{n}")});
    let mut ids = Vec::new();
    for n in 0..2 {
        let r = app
            .post_json("/notifications/webhooks", &hook(n), Some(&app.buyer()))
            .await;
        r.assert_status(StatusCode::CREATED);
        ids.push(r.json::<Value>()["id"].as_str().unwrap().to_owned());
    }
    app.post_json("/notifications/webhooks", &hook(2), Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::CONFLICT, "too_many_endpoints");
    // Another user's limit is their own.
    app.post_json("/notifications/webhooks", &hook(3), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::CREATED);
    app.delete(
        &format!("/notifications/webhooks/{}", ids[0]),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.delete(
        &format!("/notifications/webhooks/{}", ids[0]),
        Some(&app.buyer()),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    app.post_json("/notifications/webhooks", &hook(4), Some(&app.buyer()))
        .await
        .assert_status(StatusCode::CREATED);
}
