//! What the product service needs of other services, as narrow traits with
//! an HTTP implementation over `ServiceClient` (the tests' fakes live with
//! the tests).

use async_trait::async_trait;
use common::Id;
use common::client::{CallOptions, ClientError, ServiceClient};
use serde::{Deserialize, Serialize};

/// What the product service needs of a media item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub id: String,
    pub owner_id: String,
    pub sha256: String,
}

/// The media service.
#[async_trait]
pub trait MediaApi: Send + Sync + 'static {
    /// The media item, or `None` if there is no such item.
    async fn get(&self, id: &str) -> Result<Option<MediaInfo>, ClientError>;
}

/// `GET /media/{id}` over HTTP.
pub struct HttpMediaApi(pub ServiceClient);

#[async_trait]
impl MediaApi for HttpMediaApi {
    async fn get(&self, id: &str) -> Result<Option<MediaInfo>, ClientError> {
        // Anything that is not an id cannot exist (and never reaches a URL).
        if !Id::is_valid(id) {
            return Ok(None);
        }
        match self.0.get_json::<MediaInfo>(&format!("/media/{id}")).await {
            Ok(info) => Ok(Some(info)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What the ML service is told about a product to write its story.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoryRequest {
    pub product_id: String,
    pub title: String,
    pub category: String,
    pub craft_tradition: Option<String>,
    pub region: Option<String>,
    pub materials: Vec<String>,
    pub language: String,
}

/// The ML service's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryResponse {
    pub story: String,
    /// What wrote it: `template` (the product's fields through written
    /// templates) or the model (`vertex:gemini-2.0-flash-001`).
    #[serde(default)]
    pub generated_by: Option<String>,
}

/// The ML service.
#[async_trait]
pub trait MlApi: Send + Sync + 'static {
    async fn cultural_story(&self, request: &StoryRequest) -> Result<StoryResponse, ClientError>;
}

/// `POST /ml/cultural-story` over HTTP.
pub struct HttpMlApi(pub ServiceClient);

#[async_trait]
impl MlApi for HttpMlApi {
    async fn cultural_story(&self, request: &StoryRequest) -> Result<StoryResponse, ClientError> {
        let key = format!("story-{}-{}", request.product_id, request.language);
        let options = CallOptions {
            idempotency_key: Some(key),
            ..CallOptions::default()
        };
        self.0
            .post_json("/ml/cultural-story", request, &options)
            .await
    }
}
