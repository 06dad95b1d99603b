//! The product service under test: a [`TestService`] built with fake media
//! and ML services (views flushed and the index synced every 50 ms when
//! served), plus the product fixtures: valid bodies and typed helpers for
//! products, search and orders.

use std::ops::Deref;
use std::sync::Arc;

use common::Page;
use http::{Method, StatusCode};
use product::domain::products::ProductView;
use serde_json::{Value, json};
use testkit::{TestService, TestServiceBuilder};

pub(crate) use crate::fakes::{FakeEscrow, FakeMediaApi, FakeMl};
pub(crate) use testkit::http::{TestResponse, field_code};
pub(crate) use testkit::users::{ARTISAN, BUYER, OTHER_ARTISAN};

/// One product service with its own data directory and fakes.
pub(crate) struct TestApp {
    service: TestService,
    /// Media items known to the fake media service (`add(id, owner)`).
    pub(crate) media: Arc<FakeMediaApi>,
    /// The fake ML service (down until told to answer).
    pub(crate) ml: Arc<FakeMl>,
    /// The fake escrow (the blockchain service's side).
    pub(crate) escrow: Arc<FakeEscrow>,
}

impl Deref for TestApp {
    type Target = TestService;

    fn deref(&self) -> &TestService {
        &self.service
    }
}

impl TestApp {
    /// The service in process, without background tasks.
    pub(crate) async fn spawn() -> TestApp {
        TestApp::start(TestService::builder(product::NAME)).await
    }

    /// The service on a free port with its background tasks (view flush and
    /// search sync every 50 ms, the relay); requests go over HTTP.
    pub(crate) async fn serve() -> TestApp {
        TestApp::start(TestService::builder(product::NAME).served()).await
    }

    /// Served, with the settings changed by `change`.
    pub(crate) async fn serve_with(
        change: impl Fn(&mut product::Settings) + Send + Sync + 'static,
    ) -> TestApp {
        TestApp::start_with(TestService::builder(product::NAME).served(), change).await
    }

    async fn start(builder: TestServiceBuilder) -> TestApp {
        TestApp::start_with(builder, |_| {}).await
    }

    /// With the settings changed by `change`.
    pub(crate) async fn start_with(
        builder: TestServiceBuilder,
        change: impl Fn(&mut product::Settings) + Send + Sync + 'static,
    ) -> TestApp {
        let media = Arc::<FakeMediaApi>::default();
        let ml = Arc::<FakeMl>::default();
        let escrow = Arc::<FakeEscrow>::default();
        let (fake_media, fake_ml, fake_escrow) = (media.clone(), ml.clone(), escrow.clone());
        let service = builder
            .start(move |shared, auth| {
                let mut settings = product::Settings {
                    view_flush_ms: 50,
                    index_sync_ms: 50,
                    ..product::Settings::default()
                };
                settings.payments.sweep_ms = 50;
                // The sandbox delivers its webhooks to the service itself.
                let port = shared.port.unwrap_or_default();
                settings.self_url = format!("http://127.0.0.1:{port}/").parse().unwrap();
                change(&mut settings);
                let config = product::Config {
                    shared,
                    service: settings,
                };
                let deps = product::Deps {
                    auth,
                    media: fake_media.clone(),
                    ml: fake_ml.clone(),
                    escrow: fake_escrow.clone(),
                };
                async move { product::build_with(&config, deps).await }
            })
            .await;
        TestApp {
            service,
            media,
            ml,
            escrow,
        }
    }

    /// The same service stopped and started again over its data directory
    /// (what a redeploy does), with the same fakes and keys.
    pub(crate) async fn restart(mut self) -> TestApp {
        self.service = self.service.restart().await;
        self
    }

    /// Stopped, then served with its background tasks over the same data
    /// (see [`TestService::restart_served`]).
    pub(crate) async fn restart_served(mut self) -> TestApp {
        self.service = self.service.restart_served().await;
        self
    }

    /// A new instance over the same store, as Cloud Run starts one: the
    /// service stopped, its search index deleted, and started again.
    pub(crate) async fn restart_as_new_instance(mut self) -> TestApp {
        self.service.shut_down().await;
        let index = self.service.data_dir().join(product::NAME).join("search");
        std::fs::remove_dir_all(&index).unwrap();
        self.restart().await
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
        let mut builder = testkit::http::request(Method::POST, "/orders", Some(token));
        if let Some(key) = key {
            builder = builder.header("idempotency-key", key);
        }
        self.send(testkit::http::json(builder, body)).await
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

/// The ids of a page's products, in order.
pub(crate) fn ids(page: &Page<ProductView>) -> Vec<String> {
    page.items.iter().map(|p| p.id.clone()).collect()
}
