//! A Cloud Storage client over the documented JSON API
//! (`storage/v1`: media upload, `alt=media` download with Range, delete),
//! authenticated with the service account's OAuth access token from the
//! metadata server (Cloud Run). Written directly rather than through
//! object_store, whose XML-API uploads the Cloud Storage emulator
//! (fake-gcs-server) does not accept: this way the same requests run in
//! production and in the tests.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::tokens::{GoogleAccessTokens, TokenError};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use reqwest::{StatusCode, header};
use url::Url;

/// Google's endpoint.
pub const GOOGLE_BASE_URL: &str = "https://storage.googleapis.com";
/// What can go wrong with a blob.
#[derive(Debug, thiserror::Error)]
pub enum GcsError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("cloud storage answered {status} for {what}: {body}")]
    Status {
        what: String,
        status: StatusCode,
        body: String,
    },
    #[error("cloud storage request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("no access token: {0}")]
    Token(#[from] TokenError),
}

/// A bucket.
#[derive(Clone)]
pub struct Gcs {
    http: reqwest::Client,
    base: Url,
    bucket: String,
    /// `None` for the emulator (no authentication).
    token: Option<Arc<GoogleAccessTokens>>,
}

impl Gcs {
    /// `endpoint`: Google's API by default; `emulator`: no authentication,
    /// else access tokens from the metadata server at `metadata`.
    pub fn new(
        bucket: &str,
        endpoint: Option<&str>,
        emulator: bool,
        metadata: &Url,
    ) -> anyhow::Result<Self> {
        let base = Url::parse(endpoint.unwrap_or(GOOGLE_BASE_URL))?;
        Ok(Self {
            http: reqwest::Client::builder()
                .no_gzip()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(120))
                .build()?,
            base,
            bucket: bucket.to_owned(),
            token: if emulator {
                None
            } else {
                Some(Arc::new(GoogleAccessTokens::new(metadata)?))
            },
        })
    }

    /// `{base}/{segments...}` with each segment percent-encoded (object
    /// names contain `/`, which must be encoded as one segment).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn bearer(&self) -> Result<Option<String>, GcsError> {
        match &self.token {
            Some(source) => Ok(Some(source.access_token().await?)),
            None => Ok(None),
        }
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, GcsError> {
        let request = match self.bearer().await? {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await?;
        match response.status() {
            s if s.is_success() => Ok(response),
            StatusCode::NOT_FOUND => Err(GcsError::NotFound(what.to_owned())),
            status => Err(GcsError::Status {
                what: what.to_owned(),
                status,
                body: response.text().await.unwrap_or_default(),
            }),
        }
    }

    /// `POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name={key}`.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), GcsError> {
        let mut url = self.url(&["upload", "storage", "v1", "b", &self.bucket, "o"]);
        url.query_pairs_mut()
            .append_pair("uploadType", "media")
            .append_pair("name", key);
        let request = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.send(key, request).await.map(|_| ())
    }

    /// `GET /storage/v1/b/{bucket}/o/{key}?alt=media`, with `Range` when
    /// asked: the object's size, the range returned and its bytes as a stream.
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<(u64, Range<u64>, BoxStream<'static, Result<Bytes, GcsError>>), GcsError> {
        let mut url = self.url(&["storage", "v1", "b", &self.bucket, "o", key]);
        url.query_pairs_mut().append_pair("alt", "media");
        let mut request = self.http.get(url);
        if let Some(r) = &range {
            request = request.header(
                header::RANGE,
                format!("bytes={}-{}", r.start, r.end.saturating_sub(1)),
            );
        }
        let response = self.send(key, request).await?;
        let length = response.content_length().unwrap_or_default();
        let (size, got) = match (response.status(), content_range(response.headers())) {
            (StatusCode::PARTIAL_CONTENT, Some((got, total))) => (total, got),
            _ => (length, 0..length),
        };
        let stream = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(GcsError::from))
            .boxed();
        Ok((size, got, stream))
    }

    /// `DELETE /storage/v1/b/{bucket}/o/{key}`.
    pub async fn delete(&self, key: &str) -> Result<(), GcsError> {
        let url = self.url(&["storage", "v1", "b", &self.bucket, "o", key]);
        self.send(key, self.http.delete(url)).await.map(|_| ())
    }
}

/// `Content-Range: bytes a-b/total` → (a..b+1, total).
fn content_range(headers: &header::HeaderMap) -> Option<(Range<u64>, u64)> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end, total) = (
        start.parse::<u64>().ok()?,
        end.parse::<u64>().ok()?,
        total.parse().ok()?,
    );
    (start <= end).then_some((start..end + 1, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_one_encoded_segment() {
        let metadata =
            Url::parse("http://metadata.google.internal/").unwrap_or_else(|e| panic!("{e}"));
        let gcs = Gcs::new("media", Some("http://127.0.0.1:4443"), true, &metadata)
            .unwrap_or_else(|e| panic!("{e}"));
        let url = gcs.url(&[
            "storage",
            "v1",
            "b",
            "media",
            "o",
            "variants/a b/thumb.webp",
        ]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4443/storage/v1/b/media/o/variants%2Fa%20b%2Fthumb.webp"
        );
    }

    #[test]
    fn content_ranges_parse() {
        let mut h = header::HeaderMap::new();
        h.insert(
            header::CONTENT_RANGE,
            header::HeaderValue::from_static("bytes 0-99/1234"),
        );
        assert_eq!(content_range(&h), Some((0..100, 1234)));
        h.insert(
            header::CONTENT_RANGE,
            header::HeaderValue::from_static("bytes 9-3/10"),
        );
        assert_eq!(content_range(&h), None);
    }

    /// The production path: the access token comes from the metadata
    /// server with its required header, is sent as a bearer token, and is
    /// fetched once for many requests until it nears expiry.
    #[tokio::test]
    async fn access_tokens_come_from_the_metadata_server_once() {
        use wiremock::matchers::{header as has_header, method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let metadata = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!(
                "/{}",
                common::tokens::METADATA_ACCESS_TOKEN_PATH
            )))
            .and(has_header("Metadata-Flavor", "Google"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": "ya29.test-token",
                "expires_in": 3599,
                "token_type": "Bearer"
            })))
            .expect(1)
            .mount(&metadata)
            .await;
        let storage = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/storage/v1/b/media/o/originals%2Fa.jpg"))
            .and(query_param("alt", "media"))
            .and(has_header("authorization", "Bearer ya29.test-token"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(b"jpeg bytes".to_vec()))
            .expect(2)
            .mount(&storage)
            .await;
        let gcs = Gcs::new(
            "media",
            Some(&storage.uri()),
            false,
            &Url::parse(&metadata.uri()).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..2 {
            let (size, _, mut body) = gcs
                .get("originals/a.jpg", None)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(size, 10);
            let mut bytes = Vec::new();
            while let Some(chunk) = body.next().await {
                bytes.extend_from_slice(&chunk.unwrap_or_else(|e| panic!("{e}")));
            }
            assert_eq!(bytes, b"jpeg bytes");
        }
    }

    #[tokio::test]
    async fn a_metadata_server_failure_is_a_token_error() {
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let metadata = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500))
            .mount(&metadata)
            .await;
        let gcs = Gcs::new(
            "media",
            Some("http://127.0.0.1:9"),
            false,
            &Url::parse(&metadata.uri()).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = gcs.delete("originals/a.jpg").await.err();
        assert!(matches!(err, Some(GcsError::Token(_))), "{err:?}");
    }
}
