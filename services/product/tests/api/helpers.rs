//! The test app: the product service's whole HTTP stack (middleware included)
//! over a fresh temporary data directory, with fake auth, media and ML,
//! driven in process with `oneshot`; or, where background work matters
//! (view flushes, search sync, the relay), the same service on a real port
//! driven with reqwest. Plus typed request helpers and fixtures.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use common::Page;
use common::client::ClientError;
use common::config::SharedConfig;
use common::identity::Role;
use common::serve::{App, Server};
use events::{OutboxEntry, PushRequest};
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use product::domain::clients::{FakeMediaApi, MlApi, StoryRequest};
use product::domain::products::ProductView;
use serde_json::{Value, json};
use store::{Query, Store};
use tempfile::TempDir;
use testkit::FakeAuthApi;
use tower::ServiceExt as _;

pub(crate) use testkit::http::{TestResponse, field_code};

/// The artisan most tests list products as.
pub(crate) const ARTISAN: &str = "artisan-meera";
/// Another artisan, who owns nothing of [`ARTISAN`]'s.
pub(crate) const OTHER_ARTISAN: &str = "artisan-ravi";
/// The buyer most tests order as.
pub(crate) const BUYER: &str = "buyer-anita";
pub(crate) const ADMIN: &str = "admin-kavya";

/// One product service with its own data directory and fakes.
pub(crate) struct TestApp {
    app: App,
    server: Option<Served>,
    auth: FakeAuthApi,
    /// Media items known to the fake media service (`add(id, owner)`).
    pub(crate) media: Arc<FakeMediaApi>,
    /// The fake ML service (down until told to answer).
    pub(crate) ml: Arc<FakeMl>,
    data_dir: TempDir,
}

/// The service running on a real port with its background tasks.
struct Served {
    base: String,
    http: reqwest::Client,
    /// Dropping it shuts the server down.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// The service in process, without background tasks.
    pub(crate) async fn spawn() -> TestApp {
        TestApp::start(false).await
    }

    /// The service on a free port with its background tasks (view flush and
    /// search sync every 50 ms, the relay); requests go over HTTP.
    pub(crate) async fn serve() -> TestApp {
        TestApp::start(true).await
    }

    /// The same in-process service stopped and started again over its data
    /// directory (what a redeploy does), with the same fakes and keys.
    pub(crate) async fn restart(self) -> TestApp {
        assert!(self.server.is_none(), "only in-process apps restart");
        let TestApp {
            app,
            auth,
            media,
            ml,
            data_dir,
            ..
        } = self;
        // Releases the store and the search index's writer lock.
        drop(app);
        TestApp::boot(data_dir, auth, media, ml, false).await
    }

    async fn start(serve: bool) -> TestApp {
        let data_dir = tempfile::tempdir().expect("creating a temp data dir");
        let auth = FakeAuthApi::new().expect("generating a signing key");
        TestApp::boot(data_dir, auth, Arc::default(), Arc::default(), serve).await
    }

    async fn boot(
        data_dir: TempDir,
        auth: FakeAuthApi,
        media: Arc<FakeMediaApi>,
        ml: Arc<FakeMl>,
        serve: bool,
    ) -> TestApp {
        let mut shared = SharedConfig::local(product::NAME, 0);
        shared.data_dir = data_dir.path().to_path_buf();
        let config = product::Config {
            shared,
            service: product::Settings {
                view_flush_ms: 50,
                index_sync_ms: 50,
                ..product::Settings::default()
            },
        };
        let deps = product::Deps {
            auth: auth.authenticator(),
            media: media.clone(),
            ml: ml.clone(),
        };
        let service = product::build_with(&config, deps)
            .await
            .expect("building the product service");
        let app = service.app(&config.shared);
        let server = if serve {
            let server = Server::bind(service, &config.shared)
                .await
                .expect("binding port 0");
            let addr = server.local_addr().expect("a bound address");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(server.run(async move {
                let _ = stopped.await;
            }));
            Some(Served {
                base: format!("http://{addr}"),
                http: reqwest::Client::new(),
                _stop: stop,
            })
        } else {
            None
        };
        TestApp {
            app,
            server,
            auth,
            media,
            ml,
            data_dir,
        }
    }

    /// A token for `uid` with `role`.
    pub(crate) fn token(&self, uid: &str, role: Role) -> String {
        self.auth.token(uid, role)
    }

    pub(crate) fn artisan(&self) -> String {
        self.token(ARTISAN, Role::Artisan)
    }

    pub(crate) fn buyer(&self) -> String {
        self.token(BUYER, Role::Buyer)
    }

    pub(crate) fn admin(&self) -> String {
        self.token(ADMIN, Role::Admin)
    }

    /// Send a request through the whole app (or over HTTP when served).
    pub(crate) async fn send(&self, request: Request<Body>) -> TestResponse {
        let (status, headers, bytes) = match &self.server {
            None => {
                let response = self
                    .app
                    .clone()
                    .oneshot(request)
                    .await
                    .expect("the app is infallible");
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .expect("reading the response body")
                    .to_bytes();
                (status, headers, bytes)
            }
            Some(served) => served.send(request).await,
        };
        TestResponse::json_answer(status, headers, bytes)
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.send(
            request(Method::GET, path, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// A conditional `GET` with `If-None-Match: etag`.
    pub(crate) async fn get_if_none_match(&self, path: &str, etag: &str) -> TestResponse {
        let builder = request(Method::GET, path, None).header(header::IF_NONE_MATCH, etag);
        self.send(builder.body(Body::empty()).unwrap()).await
    }

    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(with_json(request(Method::POST, path, token), body))
            .await
    }

    pub(crate) async fn patch_json(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
        if_match: Option<&str>,
    ) -> TestResponse {
        let mut builder = request(Method::PATCH, path, token);
        if let Some(etag) = if_match {
            builder = builder.header(header::IF_MATCH, etag);
        }
        self.send(with_json(builder, body)).await
    }

    pub(crate) async fn put(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.send(
            request(Method::PUT, path, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub(crate) async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.send(
            request(Method::DELETE, path, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `POST /products` as `token` with [`product_body`]`(overrides)`; panics unless 201.
    pub(crate) async fn create_product(&self, token: &str, overrides: Value) -> ProductView {
        let response = self
            .post_json("/products", &product_body(overrides), Some(token))
            .await;
        response.assert_status(StatusCode::CREATED);
        response.json()
    }

    /// `GET /products/{id}` (which counts a view).
    pub(crate) async fn product(&self, id: &str) -> TestResponse {
        self.get(&format!("/products/{id}"), None).await
    }

    /// `GET /products?{query}`; panics unless 200.
    pub(crate) async fn list(&self, query: &str) -> Page<ProductView> {
        let response = self.get(&format!("/products?{query}"), None).await;
        response.assert_status(StatusCode::OK);
        response.json()
    }

    /// `POST /products/search`.
    pub(crate) async fn search(&self, body: &Value) -> TestResponse {
        self.post_json("/products/search", body, None).await
    }

    /// `POST /orders` with an optional `Idempotency-Key`.
    pub(crate) async fn place_order(
        &self,
        token: &str,
        body: &Value,
        key: Option<&str>,
    ) -> TestResponse {
        let mut builder = request(Method::POST, "/orders", Some(token));
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key);
        }
        self.send(with_json(builder, body)).await
    }

    /// `POST /orders/{id}/status`.
    pub(crate) async fn move_order(&self, token: &str, id: &str, status: &str) -> TestResponse {
        self.post_json(
            &format!("/orders/{id}/status"),
            &json!({ "status": status }),
            Some(token),
        )
        .await
    }

    /// `POST /events/push` with `event` in Pub/Sub's push format.
    pub(crate) async fn push<E: events::Event>(
        &self,
        token: &str,
        event_id: &str,
        subject: &str,
        event: &E,
    ) -> TestResponse {
        let body =
            serde_json::to_value(PushRequest::for_event(event_id, "test", subject, event)).unwrap();
        self.post_json("/events/push", &body, Some(token)).await
    }

    /// Every outbox entry, oldest first, read from the service's SQLite file.
    pub(crate) async fn outbox(&self) -> Vec<OutboxEntry> {
        let path = self
            .data_dir
            .path()
            .join(product::NAME)
            .join("product.sqlite");
        let store = Store::open_sqlite(path).expect("opening the product store");
        let (entries, _) = store
            .collection::<OutboxEntry>()
            .query(&Query::new().limit(1000))
            .await
            .expect("reading the outbox");
        entries.into_iter().map(|e| e.value).collect()
    }
}

impl Served {
    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .expect("reading the request body")
            .to_bytes();
        let response = self
            .http
            .request(parts.method, format!("{}{}", self.base, parts.uri))
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .expect("the served app answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("reading the response body");
        (status, headers, bytes)
    }
}

/// A request builder with an optional bearer token.
fn request(method: Method, path: &str, token: Option<&str>) -> http::request::Builder {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
}

fn with_json(builder: http::request::Builder, body: &Value) -> Request<Body> {
    builder
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// A valid `POST /products` body (₹2,499 kantha stole from West Bengal);
/// each top-level field of `overrides` replaces the default one.
pub(crate) fn product_body(overrides: Value) -> Value {
    let mut body = json!({
        "title": "Kantha stitched silk stole",
        "description": {
            "en": "A hand embroidered kantha stole from Bolpur in soft tussar silk.",
            "hi": "बोलपुर की हाथ से कढ़ाई की गई कांथा स्टोल।"
        },
        "category": "textiles",
        "subcategory": "stole",
        "price": { "amount": 249_900, "currency": "INR" },
        "materials": ["Silk", "cotton thread"],
        "dimensions": { "length": 200, "width": 70, "height": 1, "unit": "cm", "weight_g": 180 },
        "production_time_days": 21,
        "region": "West Bengal",
        "craft_tradition": "Kantha",
        "media_ids": []
    });
    if let (Some(body), Value::Object(overrides)) = (body.as_object_mut(), overrides) {
        body.extend(overrides);
    }
    body
}

/// A valid `POST /orders` body.
pub(crate) fn order_body(product_id: &str, quantity: u32) -> Value {
    json!({
        "product_id": product_id,
        "quantity": quantity,
        "shipping_address": {
            "name": "Anita Rao",
            "line1": "12 MG Road",
            "city": "Bengaluru",
            "state": "Karnataka",
            "postal_code": "560001",
            "country": "IN",
            "phone": "+91 98450 12345"
        }
    })
}

/// A Pub/Sub push request carrying `event` in its envelope.
/// The ids of a page's products, in order.
pub(crate) fn ids(page: &Page<ProductView>) -> Vec<String> {
    page.items.iter().map(|p| p.id.clone()).collect()
}

/// The ML service: answers a fixed story, or is down.
#[derive(Default)]
pub(crate) struct FakeMl {
    story: Mutex<Option<String>>,
    requests: Mutex<Vec<StoryRequest>>,
}

impl FakeMl {
    /// Answer every request with `story`.
    pub(crate) fn answer(&self, story: &str) {
        *self.story.lock().unwrap() = Some(story.to_owned());
    }

    /// What the service was asked, oldest first.
    pub(crate) fn requests(&self) -> Vec<StoryRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait]
impl MlApi for FakeMl {
    async fn cultural_story(&self, request: &StoryRequest) -> Result<String, ClientError> {
        self.requests.lock().unwrap().push(request.clone());
        self.story
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| ClientError::Unavailable {
                service: "ml",
                reason: "down in this test".to_owned(),
            })
    }
}
