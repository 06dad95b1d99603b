//! One service under test: its whole HTTP stack (middleware included) over
//! a fresh temporary data directory, driven in process with `oneshot`, or
//! served on a free port (with its background tasks) where the wire or
//! background work matters. Tokens for each role come from a
//! [`FakeAuthApi`] whose verifier the service is built with.
//!
//! A service's own test helpers wrap a [`TestService`] (usually through
//! `Deref`) and add only their fixtures:
//!
//! ```ignore
//! let app = TestService::builder(media::NAME)
//!     .start(|shared, auth| async move {
//!         media::build_with(&media::Config { shared, service: Default::default() }, auth).await
//!     })
//!     .await;
//! app.get("/media/abc", Some(&app.artisan())).await.assert_status(StatusCode::NOT_FOUND);
//! ```

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use common::SharedConfig;
use common::identity::{Authenticator, Role};
use common::serve::{App, Server};
use common::{Service, config::EventsConfig};
use events::{OutboxEntry, PushRequest};
use futures::future::BoxFuture;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde::Serialize;
use store::{Query, Store};
use tempfile::TempDir;
use tower::ServiceExt as _;

use crate::auth_api::FakeAuthApi;
use crate::http::TestResponse;
use crate::memory::Turn;
use crate::users;

/// Builds the service under test from its shared configuration (data
/// directory and port set by the harness) and the fake auth's verifier.
pub type BuildFn = Arc<
    dyn Fn(SharedConfig, Arc<Authenticator>) -> BoxFuture<'static, anyhow::Result<Service>>
        + Send
        + Sync,
>;

/// How a [`TestService`] starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    /// `oneshot` through the app; no background tasks.
    #[default]
    InProcess,
    /// A real port, background tasks running.
    Served,
}

/// Chooses how a [`TestService`] runs.
pub struct TestServiceBuilder {
    name: &'static str,
    mode: Mode,
    alone: bool,
    events: EventsConfig,
    auth: Option<Arc<FakeAuthApi>>,
    data_dir: Option<TempDir>,
}

impl TestServiceBuilder {
    /// Serve on a free port with the service's background tasks; requests
    /// go over HTTP.
    pub fn served(mut self) -> Self {
        self.mode = Mode::Served;
        self
    }

    /// Run with no other test of this process meanwhile (memory measurements).
    pub fn alone(mut self) -> Self {
        self.alone = true;
        self
    }

    /// Relay settings (fast retries by default).
    pub fn events(mut self, f: impl FnOnce(&mut EventsConfig)) -> Self {
        f(&mut self.events);
        self
    }

    /// Use this fake auth (and its signing key) instead of a new one.
    pub fn auth(mut self, auth: Arc<FakeAuthApi>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Keep the service's data in `dir` (made by the caller, e.g. to start
    /// something else in it first).
    pub fn data_dir(mut self, dir: TempDir) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// Build and start the service with `build`.
    pub async fn start<F, Fut>(self, build: F) -> TestService
    where
        F: Fn(SharedConfig, Arc<Authenticator>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Service>> + Send + 'static,
    {
        crate::init_logs();
        let turn = if self.alone {
            Turn::alone().await
        } else {
            Turn::shared().await
        };
        let auth = match self.auth {
            Some(auth) => auth,
            None => Arc::new(FakeAuthApi::new().expect("generating a signing key")),
        };
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| tempfile::tempdir().expect("creating a temp data dir"));
        let build: BuildFn = Arc::new(move |shared, auth| Box::pin(build(shared, auth)));
        let mut service = TestService {
            name: self.name,
            mode: self.mode,
            events: self.events,
            build,
            auth,
            data_dir,
            app: None,
            served: None,
            _turn: turn,
        };
        service.boot().await;
        service
    }
}

/// A running service under test.
pub struct TestService {
    name: &'static str,
    mode: Mode,
    events: EventsConfig,
    build: BuildFn,
    auth: Arc<FakeAuthApi>,
    data_dir: TempDir,
    app: Option<App>,
    served: Option<Served>,
    _turn: Turn,
}

/// The service on a real port.
struct Served {
    base: String,
    http: reqwest::Client,
    /// Dropping it shuts the server down.
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestService {
    /// A service named `name` (its data lives in `<data dir>/<name>`).
    pub fn builder(name: &'static str) -> TestServiceBuilder {
        TestServiceBuilder {
            name,
            mode: Mode::InProcess,
            alone: false,
            // Fast retries, so that failure tests take milliseconds.
            events: EventsConfig {
                initial_backoff_ms: 50,
                max_backoff_ms: 400,
                poll_interval_ms: 20,
                ..EventsConfig::default()
            },
            auth: None,
            data_dir: None,
        }
    }

    /// The shared configuration the service is built with.
    pub fn shared_config(&self) -> SharedConfig {
        let mut shared = SharedConfig::local(self.name, 0);
        shared.data_dir = self.data_dir.path().to_path_buf();
        shared.events = self.events.clone();
        shared
    }

    async fn boot(&mut self) {
        let shared = self.shared_config();
        let service = (self.build)(shared.clone(), self.auth.authenticator())
            .await
            .unwrap_or_else(|e| panic!("building the {} service: {e:#}", self.name));
        match self.mode {
            Mode::InProcess => self.app = Some(service.app(&shared)),
            Mode::Served => {
                let server = Server::bind(service, &shared)
                    .await
                    .expect("binding port 0");
                let addr = server.local_addr().expect("a bound address");
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let running = tokio::spawn(server.run(async move {
                    let _ = stopped.await;
                }));
                self.served = Some(Served {
                    base: format!("http://{addr}"),
                    http: reqwest::Client::new(),
                    stop,
                    running,
                });
            }
        }
    }

    /// Stop the service (draining a served one) and start it again over the
    /// same data directory and keys: what a redeploy does.
    pub async fn restart(mut self) -> TestService {
        self.shut_down().await;
        self.boot().await;
        self
    }

    /// As [`TestService::restart`], built by `build` from now on.
    pub async fn restart_with<F, Fut>(mut self, build: F) -> TestService
    where
        F: Fn(SharedConfig, Arc<Authenticator>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Service>> + Send + 'static,
    {
        self.build = Arc::new(move |shared, auth| Box::pin(build(shared, auth)));
        self.restart().await
    }

    /// Stop the service; it answers nothing until restarted.
    pub async fn shut_down(&mut self) {
        // Releases the store and any lock on its files.
        self.app = None;
        if let Some(served) = self.served.take() {
            let _ = served.stop.send(());
            match served.running.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("the {} service failed: {e:#}", self.name),
                Err(e) => panic!("the {} service panicked: {e}", self.name),
            }
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The root data directory (the service keeps its files in `<it>/<name>`).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The base URL of a served service; panics for an in-process one.
    pub fn base_url(&self) -> &str {
        &self.served.as_ref().expect("a served service").base
    }

    /// The fake auth whose tokens the service accepts.
    pub fn auth(&self) -> &Arc<FakeAuthApi> {
        &self.auth
    }

    /// A token for `uid` with `role`.
    pub fn token(&self, uid: &str, role: Role) -> String {
        self.auth.token(uid, role)
    }

    /// A token of [`users::ARTISAN`].
    pub fn artisan(&self) -> String {
        self.token(users::ARTISAN, Role::Artisan)
    }

    /// A token of [`users::OTHER_ARTISAN`].
    pub fn other_artisan(&self) -> String {
        self.token(users::OTHER_ARTISAN, Role::Artisan)
    }

    /// A token of [`users::BUYER`].
    pub fn buyer(&self) -> String {
        self.token(users::BUYER, Role::Buyer)
    }

    /// A token of [`users::ADMIN`].
    pub fn admin(&self) -> String {
        self.token(users::ADMIN, Role::Admin)
    }

    /// A `service`-role token (what the relay and other services present).
    pub fn service_token(&self) -> String {
        self.token(users::SERVICE, Role::Service)
    }

    /// Send a request through the whole app (over HTTP when served).
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let (status, headers, bytes) = match (&self.app, &self.served) {
            (Some(app), _) => {
                let response = app
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
            (None, Some(served)) => served.send(request).await,
            (None, None) => panic!("the {} service is not running", self.name),
        };
        TestResponse::new(status, headers, bytes)
    }

    /// `method path` with no body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>) -> TestResponse {
        self.send(crate::http::empty(crate::http::request(
            method, path, token,
        )))
        .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::GET, path, token).await
    }

    /// `GET path` with extra headers and no token.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut builder = crate::http::request(Method::GET, path, None);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.send(crate::http::empty(builder)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::DELETE, path, token).await
    }

    /// `PUT path` with no body.
    pub async fn put(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::PUT, path, token).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(crate::http::json(
            crate::http::request(Method::POST, path, token),
            body,
        ))
        .await
    }

    pub async fn put_json(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(crate::http::json(
            crate::http::request(Method::PUT, path, token),
            body,
        ))
        .await
    }

    /// `PATCH path` with a JSON body and an optional `If-Match`.
    pub async fn patch_json(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
        if_match: Option<&str>,
    ) -> TestResponse {
        let mut builder = crate::http::request(Method::PATCH, path, token);
        if let Some(etag) = if_match {
            builder = builder.header(header::IF_MATCH, etag);
        }
        self.send(crate::http::json(builder, body)).await
    }

    /// `POST` a raw body with the given `Content-Type` (none if `None`).
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<Body>,
        content_type: Option<&str>,
        token: Option<&str>,
    ) -> TestResponse {
        let mut builder = crate::http::request(Method::POST, path, token);
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        self.send(builder.body(body.into()).expect("a valid request"))
            .await
    }

    /// `POST /events/push` with `event` as Pub/Sub delivers it, with a
    /// `service` token.
    pub async fn push<E: events::Event>(
        &self,
        event_id: &str,
        subject: &str,
        event: &E,
    ) -> TestResponse {
        self.push_as(&self.service_token(), event_id, subject, event)
            .await
    }

    /// [`TestService::push`] with the given token.
    pub async fn push_as<E: events::Event>(
        &self,
        token: &str,
        event_id: &str,
        subject: &str,
        event: &E,
    ) -> TestResponse {
        let body = PushRequest::for_event(event_id, "test", subject, event);
        self.post_json("/events/push", &body, Some(token)).await
    }

    /// The service's store, opened again from its file (readable while the
    /// service runs, or after it stopped).
    pub fn store(&self) -> Store {
        Store::open_sqlite(self.shared_config().store_path())
            .unwrap_or_else(|e| panic!("opening the {} store: {e}", self.name))
    }

    /// Every outbox entry, oldest first.
    pub async fn outbox(&self) -> Vec<OutboxEntry> {
        let (entries, _) = self
            .store()
            .collection::<OutboxEntry>()
            .query(&Query::new().limit(1000))
            .await
            .expect("reading the outbox");
        entries.into_iter().map(|e| e.value).collect()
    }

    /// The event types in the outbox, oldest first.
    pub async fn outbox_types(&self) -> Vec<String> {
        self.outbox()
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
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
