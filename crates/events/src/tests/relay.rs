//! The relay: Pub/Sub push format, retries, dead letters, order per subject.

use super::*;

#[tokio::test]
async fn relay_pushes_in_pubsub_push_format_with_a_bearer_token() {
    let (store, _dir) = store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events/push"))
        .and(header("authorization", "Bearer svc-token"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let id = emit(&store, "u1").await;
    let relay = Relay::new(&store, &shared(&format!("{}/events/push", server.uri()), 5))
        .with_tokens(Some(Arc::new(FixedToken("svc-token".into()))));
    passes(&relay, 3).await;

    let requests = server.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    let message = &body["message"];
    assert_eq!(message["messageId"], id.as_str());
    assert_eq!(message["orderingKey"], "u1");
    assert_eq!(message["attributes"]["event_type"], "user.registered");
    assert!(message["publishTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["subscription"],
        "projects/craftchain-local/subscriptions/user-registered"
    );
    assert_eq!(body["deliveryAttempt"], 1);
    let data = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        message["data"].as_str().unwrap(),
    )
    .unwrap();
    let received = Received::from_bytes(&data).unwrap();
    assert_eq!(received.envelope.source, "auth");
    assert_eq!(received.decode::<UserRegistered>().unwrap().user_id, "u1");
    assert_eq!(entry(&store, &id).await.status, OutboxStatus::Sent);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_no_event() {
    let (store, _dir) = store();
    let publisher = Publisher::new("auth");
    let result = store
        .transact(async |tx: &mut Txn| {
            publisher.emit(tx, "u1", &UserRegistered::default())?;
            Err::<(), _>(StoreError::InvalidQuery("the change failed".into()))
        })
        .await;
    assert!(result.is_err());
    let (pending, _) = store
        .collection::<OutboxEntry>()
        .query(&store::Query::new())
        .await
        .unwrap();
    assert!(pending.is_empty());
}

#[tokio::test]
async fn failing_deliveries_are_retried_then_dead_lettered_and_can_be_replayed() {
    let (store, _dir) = store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    let id = emit(&store, "u1").await;
    let relay = Relay::new(&store, &shared(&format!("{}/events/push", server.uri()), 3));
    passes(&relay, 10).await;
    let dead = entry(&store, &id).await;
    assert_eq!(dead.status, OutboxStatus::Dead);
    assert_eq!(dead.attempts, 3);
    assert!(dead.last_error.unwrap().contains("500"));

    // An admin lists and replays it; the subscriber works again.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let issuer = Issuer::new();
    let admin = crate::dead_letter_router(&store, issuer.authenticator());
    let list = admin
        .clone()
        .oneshot(
            Request::get("/admin/events/dead-letters")
                .header(
                    "authorization",
                    format!("Bearer {}", issuer.token("a1", Role::Admin)),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let page: serde_json::Value =
        serde_json::from_slice(&list.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(page["items"][0]["event_id"], id.as_str());

    let replay = |role| {
        Request::post(format!("/admin/events/dead-letters/{id}/replay"))
            .header(
                "authorization",
                format!("Bearer {}", issuer.token("a1", role)),
            )
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        admin
            .clone()
            .oneshot(replay(Role::Buyer))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .clone()
            .oneshot(replay(Role::Admin))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    passes(&relay, 3).await;
    assert_eq!(entry(&store, &id).await.status, OutboxStatus::Sent);
    assert_eq!(
        admin.oneshot(replay(Role::Admin)).await.unwrap().status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn later_events_of_a_subject_wait_for_an_earlier_failing_one() {
    let (store, _dir) = store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let first = emit(&store, "u1").await;
    let second = emit(&store, "u1").await;
    let other = emit(&store, "u2").await;
    let mut config = shared(&format!("{}/events/push", server.uri()), 5);
    config.events.initial_backoff_ms = 60_000;
    let relay = Relay::new(&store, &config);
    relay.pass().await.unwrap();
    assert_eq!(entry(&store, &first).await.attempts, 1);
    assert_eq!(
        entry(&store, &second).await.attempts,
        0,
        "pushed out of order"
    );
    assert_eq!(entry(&store, &other).await.attempts, 1);
}
