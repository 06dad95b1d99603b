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

    /// The 300 px JPEG thumbnail of media `id`, if the caller may see it.
    async fn thumbnail(&self, id: &str) -> Result<Option<Bytes>, ClientError>;

    /// Store a PNG as the caller's media (uploaded with the caller's token,
    /// so it is theirs): its id and the URL of its largest variant.
    async fn store_png(&self, png: Vec<u8>) -> Result<Stored, ClientError>;
}

/// A stored image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stored {
    pub media_id: String,
    /// Path of its largest variant (`/media/{id}/content/large.jpg`).
    pub url: String,
}

#[derive(Deserialize)]
struct Uploaded {
    items: Vec<UploadedItem>,
}

#[derive(Deserialize)]
struct UploadedItem {
    id: String,
    variants: Vec<UploadedVariant>,
}

#[derive(Deserialize)]
struct UploadedVariant {
    width: u32,
    url: String,
}

/// The boundary of the forms this client sends (never inside a PNG's
/// bytes by chance: it is checked).
const BOUNDARY: &str = "craftchain-ml-moodboard-7f3a9c";

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

    async fn thumbnail(&self, id: &str) -> Result<Option<Bytes>, ClientError> {
        match self
            .0
            .send(
                Method::GET,
                &format!("/media/{id}/content/thumb.jpg"),
                None,
                &CallOptions::default(),
            )
            .await
        {
            Ok(reply) => Ok(Some(reply.body)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn store_png(&self, png: Vec<u8>) -> Result<Stored, ClientError> {
        let decode = |reason: String| ClientError::Decode {
            service: "media",
            reason,
        };
        if png
            .windows(BOUNDARY.len())
            .any(|w| w == BOUNDARY.as_bytes())
        {
            return Err(decode("the image contains the form boundary".to_owned()));
        }
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"moodboard.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&png);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let mut options = CallOptions::default();
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        options.headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_str(&content_type).map_err(|e| decode(e.to_string()))?,
        );
        let reply = self
            .0
            .send(
                Method::POST,
                "/media/upload",
                Some(Bytes::from(body)),
                &options,
            )
            .await?;
        let uploaded: Uploaded = reply.json("media")?;
        let item = uploaded
            .items
            .into_iter()
            .next()
            .ok_or_else(|| decode("no item in the upload's answer".to_owned()))?;
        let url = item
            .variants
            .iter()
            .filter(|v| v.url.ends_with(".jpg"))
            .max_by_key(|v| v.width)
            .map(|v| v.url.clone())
            .ok_or_else(|| decode("the stored image has no JPEG variant".to_owned()))?;
        Ok(Stored {
            media_id: item.id,
            url,
        })
    }
}
