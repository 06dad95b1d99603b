//! `/events/push`: each event applied once, only for the service role.

use super::*;

struct Counter;

#[async_trait]
impl Consumer for Counter {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        let user = event.decode::<UserRegistered>()?;
        if user.user_id == "poison" {
            return Err(ConsumeError::Invalid("poison".into()));
        }
        let mut count: Count = tx
            .get::<Count>("n")
            .await?
            .map(|c| c.value)
            .unwrap_or_default();
        count.n += 1;
        tx.set("n", &count)?;
        Ok(())
    }
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Count {
    n: u32,
}

impl store::Entity for Count {
    const COLLECTION: &'static str = "count";
}

fn push_body(event_id: &str, user_id: &str) -> String {
    let env = crate::envelope::envelope(
        event_id,
        "auth",
        user_id,
        &UserRegistered {
            user_id: user_id.into(),
            ..Default::default()
        },
        chrono::Utc::now(),
    );
    let data = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        env.encode_to_vec(),
    );
    // The shape Pub/Sub sends, with both spellings of its fields.
    serde_json::json!({
        "message": {"data": data, "attributes": {}, "messageId": event_id, "message_id": event_id,
                    "publishTime": "2026-11-24T10:00:00Z", "publish_time": "2026-11-24T10:00:00Z"},
        "subscription": "projects/p/subscriptions/s"
    })
    .to_string()
}

#[tokio::test]
async fn push_applies_each_event_once_and_only_for_the_service_role() {
    let (store, _dir) = store();
    let issuer = Issuer::new();
    let router = crate::push_router(store.clone(), Arc::new(Counter), issuer.authenticator());
    let push = |token: Option<String>, body: String| {
        let mut r = Request::post("/events/push").header("content-type", "application/json");
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        router.clone().oneshot(r.body(Body::from(body)).unwrap())
    };
    let service = issuer.token("service:auth", Role::Service);
    assert_eq!(
        push(None, push_body("e1", "u1")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push(Some(issuer.token("u9", Role::Admin)), push_body("e1", "u1"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    for _ in 0..3 {
        assert_eq!(
            push(Some(service.clone()), push_body("e1", "u1"))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    let count = store
        .collection::<Count>()
        .get("n")
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(count.n, 1);
    let bad =
        serde_json::json!({"message": {"data": "%%%", "messageId": "x"}, "subscription": "s"})
            .to_string();
    assert_eq!(
        push(Some(service.clone()), bad).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        push(Some(service), push_body("e2", "poison"))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        store
            .collection::<Count>()
            .get("n")
            .await
            .unwrap()
            .unwrap()
            .value
            .n,
        1
    );
}

/// With a push token configured (the Pub/Sub emulator's subscriptions),
/// `?token=` stands for the publisher's identity, checked before the body;
/// a wrong or missing token, or a token where none is configured, is 401.
#[tokio::test]
async fn a_configured_push_token_admits_a_push_and_nothing_else() {
    let (store, _dir) = store();
    let issuer = Issuer::new();
    let with_token = crate::push_router_with_token(
        store.clone(),
        Arc::new(Counter),
        issuer.authenticator(),
        Some("s3cret".to_owned().into()),
    );
    let without = crate::push_router(store.clone(), Arc::new(Counter), issuer.authenticator());
    let push = |router: &axum::Router, uri: &str, body: String| {
        let request = Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        router.clone().oneshot(request)
    };
    let status =
        |r: Result<axum::response::Response, std::convert::Infallible>| r.unwrap().status();
    for uri in [
        "/events/push",
        "/events/push?token=wrong",
        "/events/push?token=s3cre",
        "/events/push?token=s3cret&token=s3cret",
    ] {
        assert_eq!(
            status(push(&with_token, uri, push_body("t1", "u1")).await),
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
    }
    // Refused before the body is looked at.
    assert_eq!(
        status(push(&with_token, "/events/push?token=wrong", "{".to_owned()).await),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(push(&without, "/events/push?token=s3cret", push_body("t1", "u1")).await),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            push(
                &with_token,
                "/events/push?token=s3cret",
                push_body("t1", "u1")
            )
            .await
        ),
        StatusCode::OK
    );
    let count = store.collection::<Count>().get("n").await.unwrap().unwrap();
    assert_eq!(count.value.n, 1);
}
