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
