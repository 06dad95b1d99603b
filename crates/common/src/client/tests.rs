//! Unit tests of `client`.

use super::*;
use crate::error::ApiError;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> ServiceClient {
    ServiceClient::new("demo", Url::parse(&server.uri()).unwrap(), None)
}

#[tokio::test]
async fn get_retries_on_503_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/things/1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/things/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "1"})))
        .expect(1)
        .mount(&server)
        .await;
    let v: serde_json::Value = client(&server).get_json("/things/1").await.unwrap();
    assert_eq!(v["id"], "1");
}

#[tokio::test]
async fn post_without_idempotency_key_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .post_json::<_, serde_json::Value>(
            "/things",
            &serde_json::json!({}),
            &CallOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn post_with_idempotency_key_is_retried_and_sends_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("idempotency-key", "k1"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let options = CallOptions {
        idempotency_key: Some("k1".into()),
        ..CallOptions::default()
    };
    let err = client(&server)
        .post_json::<_, serde_json::Value>("/things", &serde_json::json!({}), &options)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unavailable { .. }));
}

#[tokio::test]
async fn problems_are_decoded_and_context_is_propagated() {
    let server = MockServer::start().await;
    let problem = serde_json::json!({
        "type": "urn:craftchain:problem:not_found", "title": "Not Found", "status": 404,
        "detail": "product p1 not found", "code": "not_found"
    });
    Mock::given(method("GET"))
        .and(header_exists("x-request-id"))
        .and(header_exists("traceparent"))
        .and(header("authorization", "Bearer user-token"))
        .respond_with(ResponseTemplate::new(404).set_body_json(problem))
        .expect(1)
        .mount(&server)
        .await;
    let mut ctx = RequestContext::new_root();
    ctx.authorization = Some(HeaderValue::from_static("Bearer user-token"));
    let err = ctx
        .scope(client(&server).get_json::<serde_json::Value>("/products/p1"))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    match err {
        ClientError::Problem { problem, .. } => assert_eq!(problem.code, "not_found"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_is_unavailable_quickly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = ServiceClient::new(
        "gone",
        Url::parse(&format!("http://{addr}/")).unwrap(),
        None,
    );
    let started = std::time::Instant::now();
    let err = c.get_json::<serde_json::Value>("/x").await.unwrap_err();
    assert!(matches!(err, ClientError::Unavailable { .. }));
    assert!(started.elapsed() < Duration::from_secs(5));
    let api: ApiError = err.into();
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
}
