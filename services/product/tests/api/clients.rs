//! The HTTP clients of the media and ML services, against wiremock.

use std::time::Duration;

use common::client::{ClientError, ServiceClient};
use product::domain::clients::{HttpMediaApi, HttpMlApi, MediaApi, MediaInfo, MlApi, StoryRequest};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_partial_json, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer, service: &'static str) -> ServiceClient {
    ServiceClient::new(service, Url::parse(&server.uri()).unwrap(), None)
        .tuned(Duration::from_secs(2), 0)
}

fn story_request() -> StoryRequest {
    StoryRequest {
        product_id: "p1".into(),
        title: "Kantha stitched silk stole".into(),
        category: "textiles".into(),
        craft_tradition: Some("Kantha".into()),
        region: Some("West Bengal".into()),
        materials: vec!["silk".into()],
        language: "en".into(),
    }
}

#[tokio::test]
async fn media_that_exists_is_returned() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/media/img-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "img-1", "owner_id": "artisan-meera", "sha256": "ab".repeat(32), "width": 800
        })))
        .expect(1)
        .mount(&server)
        .await;

    let media = HttpMediaApi(client(&server, "media"))
        .get("img-1")
        .await
        .unwrap();

    assert_eq!(
        media,
        Some(MediaInfo {
            id: "img-1".into(),
            owner_id: "artisan-meera".into(),
            sha256: "ab".repeat(32)
        })
    );
}

#[tokio::test]
async fn media_answered_404_is_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/media/img-gone"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("content-type", "application/problem+json")
                .set_body_json(json!({
                    "type": "urn:craftchain:problem:not_found", "title": "Not Found", "status": 404,
                    "code": "not_found", "detail": "media img-gone not found"
                })),
        )
        .mount(&server)
        .await;

    assert_eq!(
        HttpMediaApi(client(&server, "media"))
            .get("img-gone")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn media_answered_503_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;

    let result = HttpMediaApi(client(&server, "media")).get("img-1").await;

    assert!(
        matches!(
            result,
            Err(ClientError::Unavailable {
                service: "media",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_media_id_that_is_not_an_id_is_never_requested() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;

    let result = HttpMediaApi(client(&server, "media"))
        .get("../admin?x=1")
        .await;

    assert_eq!(result.unwrap(), None);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_story_is_asked_with_an_idempotency_key_and_read_from_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ml/cultural-story"))
        .and(header_exists("idempotency-key"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(
            json!({"product_id": "p1", "language": "en", "craft_tradition": "Kantha"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"story": "Kantha began with old saris.", "generated_by": "vertex:gemini-2.0-flash-001"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let story = HttpMlApi(client(&server, "ml"))
        .cultural_story(&story_request())
        .await
        .unwrap();

    assert_eq!(story.story, "Kantha began with old saris.");
    assert_eq!(
        story.generated_by.as_deref(),
        Some("vertex:gemini-2.0-flash-001")
    );
    let requests = server.received_requests().await.unwrap();
    let key = requests[0]
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok());
    assert_eq!(key, Some("story-p1-en"));
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["materials"], json!(["silk"]));
}

#[tokio::test]
async fn a_story_answer_without_a_story_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ml/cultural-story"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"text": "wrong shape"})))
        .mount(&server)
        .await;

    let result = HttpMlApi(client(&server, "ml"))
        .cultural_story(&story_request())
        .await;

    assert!(
        matches!(result, Err(ClientError::Decode { .. })),
        "{result:?}"
    );
}
