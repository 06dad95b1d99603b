//! The media service: a photo's original size and the bytes of its
//! largest variant (the trait the analyses ask; the tests bring fakes).

use async_trait::async_trait;
use bytes::Bytes;
use common::{CallOptions, ClientError, ServiceClient};

use serde::Deserialize;

use axum::http::Method;

/// A photo as the analysis needs it.
#[derive(Debug, Clone)]
pub struct Photo {
    /// The original's upright size.
    pub width: u32,
    pub height: u32,
    /// The largest variant (JPEG, at most 1600 px).
    pub bytes: Bytes,
}

#[async_trait]
pub trait MediaApi: Send + Sync + 'static {
    /// `Ok(None)` when there is no such media item or the caller may not
    /// see it. Inside a request the caller's own token is sent, so the
    /// media service's visibility rule decides; in the background, the
    /// service's.
    async fn photo(&self, id: &str) -> Result<Option<Photo>, ClientError>;
}

#[derive(Deserialize)]
struct MediaInfo {
    width: u32,
    height: u32,
}

/// Over HTTP.
pub struct HttpMediaApi(pub ServiceClient);

#[async_trait]
impl MediaApi for HttpMediaApi {
    async fn photo(&self, id: &str) -> Result<Option<Photo>, ClientError> {
        let info: MediaInfo = match self.0.get_json(&format!("/media/{id}")).await {
            Ok(info) => info,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let reply = match self
            .0
            .send(
                Method::GET,
                &format!("/media/{id}/content/large.jpg"),
                None,
                &CallOptions::default(),
            )
            .await
        {
            Ok(reply) => reply,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(Photo {
            width: info.width,
            height: info.height,
            bytes: reply.body,
        }))
    }
}
