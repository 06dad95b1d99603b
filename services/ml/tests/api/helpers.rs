//! The ML service under test, with a fake media service, and its
//! fixtures: photos made here.

use std::collections::HashMap;
use std::io::Cursor;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use common::ClientError;
use ml::domain::media::{MediaApi, Photo, Stored};
use testkit::TestService;

/// The media service as the tests set it.
#[derive(Default)]
pub(crate) struct FakeMedia {
    pub photos: Mutex<HashMap<String, Photo>>,
    pub down: AtomicBool,
    /// The PNGs stored, in order.
    pub stored: Mutex<Vec<Vec<u8>>>,
}

#[async_trait]
impl MediaApi for FakeMedia {
    async fn photo(&self, id: &str) -> Result<Option<Photo>, ClientError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ClientError::Unavailable {
                service: "media",
                reason: "connection refused".into(),
            });
        }
        Ok(self.photos.lock().unwrap().get(id).cloned())
    }

    async fn thumbnail(&self, id: &str) -> Result<Option<Bytes>, ClientError> {
        Ok(self.photo(id).await?.map(|p| p.bytes))
    }

    async fn store_png(&self, png: Vec<u8>) -> Result<Stored, ClientError> {
        let mut stored = self.stored.lock().unwrap();
        stored.push(png);
        let id = format!("board{}", stored.len());
        Ok(Stored {
            url: format!("/media/{id}/content/large.jpg"),
            media_id: id,
        })
    }
}

pub(crate) struct TestApp {
    pub app: TestService,
    pub media: Arc<FakeMedia>,
}

impl Deref for TestApp {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.app
    }
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(ml::providers::Providers::default()).await
    }

    /// The service with these providers (`default()`: local).
    pub(crate) async fn spawn_with(providers: ml::providers::Providers) -> Self {
        let media = Arc::new(FakeMedia::default());
        let fake = media.clone();
        // Served: the analysis worker is a background task.
        let app = TestService::builder(ml::NAME)
            .served()
            .start(move |shared, auth| {
                let media: Arc<dyn MediaApi> = fake.clone();
                let providers = providers.clone();
                async move {
                    let config = ml::Config {
                        shared,
                        service: ml::Settings {
                            worker_interval_ms: 50,
                            ..Default::default()
                        },
                    };
                    ml::build_with(
                        &config,
                        ml::Deps {
                            auth,
                            media,
                            providers,
                        },
                    )
                    .await
                }
            })
            .await;
        Self { app, media }
    }

    /// A photo the fake media service holds, of an original `width` ×
    /// `height`.
    pub(crate) fn holds(&self, id: &str, width: u32, height: u32, bytes: Vec<u8>) {
        self.media.photos.lock().unwrap().insert(
            id.to_owned(),
            Photo {
                width,
                height,
                bytes: Bytes::from(bytes),
            },
        );
    }

    /// `POST /ml/analyze-image` with `bytes` as the part `file`.
    pub(crate) async fn upload(&self, bytes: &[u8], token: &str) -> testkit::http::TestResponse {
        self.upload_to("/ml/analyze-image", bytes, token).await
    }

    /// `POST path` with `bytes` as the part `file`.
    pub(crate) async fn upload_to(
        &self,
        path: &str,
        bytes: &[u8],
        token: &str,
    ) -> testkit::http::TestResponse {
        let boundary = "craftchain-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.post_raw(
            path,
            body,
            Some(&format!("multipart/form-data; boundary={boundary}")),
            Some(token),
        )
        .await
    }
}

/// A PNG of `width` × `height`, the left 70% terracotta, the rest navy.
pub(crate) fn two_colours(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, _| {
        if x * 10 < width * 7 {
            image::Rgb([204, 78, 54])
        } else {
            image::Rgb([20, 30, 80])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A metadata server handing out access token `ya29.test`, and an API
/// server standing in for Google's (Vertex AI, Vision, Translation).
pub(crate) struct FakeGoogle {
    pub api: wiremock::MockServer,
    pub metadata: wiremock::MockServer,
}

impl FakeGoogle {
    pub(crate) async fn start() -> Self {
        use wiremock::matchers::{header, method, path};
        let metadata = wiremock::MockServer::start().await;
        wiremock::Mock::given(method("GET"))
            .and(path(format!(
                "/{}",
                common::tokens::METADATA_ACCESS_TOKEN_PATH
            )))
            .and(header("Metadata-Flavor", "Google"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "ya29.test", "expires_in": 3599, "token_type": "Bearer"}),
            ))
            .mount(&metadata)
            .await;
        let api = wiremock::MockServer::start().await;
        Self { api, metadata }
    }

    /// Every capability from Google's APIs at the fake.
    pub(crate) fn providers(&self) -> ml::providers::Providers {
        use ml::config::{ProviderChoice, Providers, VertexSettings};
        let base = url::Url::parse(&format!("{}/", self.api.uri())).unwrap();
        let settings = Providers {
            text: ProviderChoice::Vertex,
            translation: ProviderChoice::Vertex,
            vision: ProviderChoice::Vertex,
            embeddings: ProviderChoice::Vertex,
            vertex: VertexSettings {
                project: "craftchain-prod".into(),
                aiplatform_url: Some(base.clone()),
                vision_url: base.clone(),
                translation_url: base,
                ..VertexSettings::default()
            },
            ..Providers::default()
        };
        ml::providers::Providers::from_settings(
            &settings,
            &url::Url::parse(&self.metadata.uri()).unwrap(),
        )
        .unwrap()
    }
}
