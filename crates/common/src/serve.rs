//! `serve()`: how every service runs. One middleware stack (request context,
//! deadline, access log and metrics → sensitive headers → compression →
//! body limit), the operational routes (`/health`, `/ready`, `/metrics`,
//! `/openapi.json`, `/docs`), an optional front that answers the requests
//! it claims ahead of the router (the gateway's proxy), background tasks,
//! and a graceful drain on SIGTERM bounded by the configured grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderName, StatusCode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_scalar::{Scalar, Servable};

mod app;
mod request;

pub use app::{App, Front, FrontFuture};
pub use request::RouteLabel;

use crate::config::SharedConfig;
use crate::extract;
use request::RequestLayer;

/// A dependency `/ready` checks.
#[async_trait]
pub trait ReadinessCheck: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// `Err` with a short reason when the dependency does not answer.
    async fn check(&self) -> Result<(), String>;
}

/// A readiness check made from a closure.
pub struct CheckFn<F> {
    name: &'static str,
    check: F,
}

impl<F, Fut> CheckFn<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    pub fn new(name: &'static str, check: F) -> Arc<Self> {
        Arc::new(Self { name, check })
    }
}

#[async_trait]
impl<F, Fut> ReadinessCheck for CheckFn<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    fn name(&self) -> &str {
        self.name
    }

    async fn check(&self) -> Result<(), String> {
        (self.check)().await
    }
}

type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type TaskFn = Box<dyn FnOnce(CancellationToken) -> TaskFuture + Send>;

/// A service ready to run: its routes, its API description, what `/ready`
/// checks and the background tasks it runs beside the server.
pub struct Service {
    name: &'static str,
    router: Router,
    openapi: OpenApi,
    checks: Vec<Arc<dyn ReadinessCheck>>,
    tasks: Vec<(&'static str, TaskFn)>,
    front: Option<Arc<dyn Front>>,
    body_limit: Option<usize>,
}

impl Service {
    pub fn new(name: &'static str, router: Router, mut openapi: OpenApi) -> Self {
        openapi.info.title = format!("CraftChain {name} service");
        openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        Self {
            name,
            router,
            openapi,
            checks: Vec::new(),
            tasks: Vec::new(),
            front: None,
            body_limit: None,
        }
    }

    /// Accept request bodies up to `bytes` instead of the configured
    /// default (the media service's uploads).
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Let `front` answer the requests it claims, ahead of the router (the
    /// gateway's proxy). A claimed request never reaches a route, however
    /// well it matches one, and gets no `DefaultBodyLimit`: the front
    /// limits its own bodies.
    pub fn with_front(mut self, front: Arc<dyn Front>) -> Self {
        self.front = Some(front);
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn openapi(&self) -> &OpenApi {
        &self.openapi
    }

    /// Add routes (internal endpoints such as `/events/push`).
    pub fn merge(mut self, routes: Router) -> Self {
        self.router = self.router.merge(routes);
        self
    }

    /// Add a dependency for `/ready`.
    pub fn readiness(mut self, check: Arc<dyn ReadinessCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// Run `task` beside the server; it is told to stop on shutdown through
    /// the token and is awaited within the grace period.
    pub fn background<F, Fut>(mut self, name: &'static str, task: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push((
            name,
            Box::new(move |token| Box::pin(task(token)) as TaskFuture),
        ));
        self
    }

    /// The complete service: the front if any, then the service routes,
    /// operational routes and fallbacks, all inside the middleware stack.
    /// Tests drive it with `oneshot`.
    pub fn app(&self, config: &SharedConfig) -> App {
        let _ = prometheus();
        let ops = Router::new()
            .route("/health", get(health))
            .route("/ready", get(ready))
            .route("/metrics", get(metrics_text))
            .route("/openapi.json", get(openapi_json))
            .layer(Extension(Arc::new(Ops {
                checks: self.checks.clone(),
                openapi: self.openapi.clone(),
            })))
            .merge(Scalar::with_url("/docs", self.openapi.clone()));
        // The stack the router and the front share.
        let stack = ServiceBuilder::new()
            .layer(RequestLayer::new(self.name, config.request_timeout()))
            .layer(SetSensitiveRequestHeadersLayer::new([
                AUTHORIZATION,
                COOKIE,
                SET_COOKIE,
                HeaderName::from_static("x-service-secret"),
            ]))
            .layer(CompressionLayer::new());
        let router = self
            .router
            .clone()
            .merge(ops)
            .fallback(extract::not_found)
            .method_not_allowed_fallback(extract::method_not_allowed)
            .layer(stack.clone().layer(DefaultBodyLimit::max(
                self.body_limit.unwrap_or(config.body_limit_bytes),
            )));
        // The front limits its own bodies: it streams them on.
        let front = self.front.as_ref().map(|front| {
            let service = stack.service(app::FrontService(front.clone()));
            (front.clone(), service)
        });
        App { router, front }
    }
}

/// The operational routes every service answers itself.
const OPERATIONAL: &[&str] = &["/health", "/ready", "/metrics", "/openapi.json", "/docs"];

/// Whether `path` is one of the operational routes every service answers
/// itself (a front leaves them to the router).
pub fn is_operational(path: &str) -> bool {
    OPERATIONAL.contains(&path)
}

struct Ops {
    checks: Vec<Arc<dyn ReadinessCheck>>,
    openapi: OpenApi,
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    checks: std::collections::BTreeMap<String, String>,
}

async fn ready(Extension(ops): Extension<Arc<Ops>>) -> Response {
    let results = futures::future::join_all(ops.checks.iter().map(|c| async move {
        let outcome = tokio::time::timeout(Duration::from_secs(3), c.check())
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()));
        (c.name().to_owned(), outcome)
    }))
    .await;
    let ok = results.iter().all(|(_, r)| r.is_ok());
    let checks = results
        .into_iter()
        .map(|(name, r)| (name, r.err().unwrap_or_else(|| "ok".to_owned())))
        .collect();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ok { "ready" } else { "unavailable" },
        checks,
    };
    (status, axum::Json(body)).into_response()
}

async fn openapi_json(Extension(ops): Extension<Arc<Ops>>) -> Response {
    axum::Json(ops.openapi.clone()).into_response()
}

/// The process-wide Prometheus recorder (one per process, shared by every
/// service `craftchain up` runs; each series carries a `service` label).
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        };
        // Histogram samples pile up until upkeep drains them into their
        // summaries; nothing else runs it when /metrics is never scraped.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

async fn metrics_text() -> Response {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
        .into_response()
}

/// A service bound to its port, not yet serving.
pub struct Server {
    listener: TcpListener,
    service: Service,
    app: App,
    grace: Duration,
}

impl Server {
    /// Bind to the configured address (port 0 picks a free port).
    pub async fn bind(service: Service, config: &SharedConfig) -> anyhow::Result<Self> {
        let addr = config.bind_addr();
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {} to {addr}", service.name))?;
        Ok(Self::with_listener(service, config, listener))
    }

    /// Serve on a listener bound by the caller (the launcher binds every
    /// port first so that services can be told each other's addresses).
    pub fn with_listener(service: Service, config: &SharedConfig, listener: TcpListener) -> Self {
        let app = service.app(config);
        Self {
            listener,
            service,
            app,
            grace: Duration::from_secs(config.shutdown_grace_secs),
        }
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serve until `shutdown` completes, then stop accepting, let in-flight
    /// requests and background tasks finish within the grace period, and
    /// return.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Server {
            listener,
            service,
            app,
            grace,
        } = self;
        let name = service.name;
        let token = CancellationToken::new();
        let mut tasks = JoinSet::new();
        for (task_name, task) in service.tasks {
            let child = token.child_token();
            tasks.spawn(async move {
                task(child).await;
                tracing::debug!(service = name, task = task_name, "background task stopped");
            });
        }
        let stop = token.clone();
        // Responses go out as soon as they are written (no Nagle delay on
        // a head written apart from its body).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(
            listener,
            axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await });
        let server = tokio::spawn(async move { server.await });
        shutdown.await;
        tracing::info!(service = name, "shutting down: draining in-flight requests");
        token.cancel();
        let drain = async {
            let served = server.await;
            while tasks.join_next().await.is_some() {}
            served
        };
        match tokio::time::timeout(grace, drain).await {
            Ok(Ok(result)) => result.context("serving")?,
            Ok(Err(join)) => return Err(anyhow::anyhow!("server task failed: {join}")),
            Err(_) => tracing::warn!(
                service = name,
                ?grace,
                "drain timed out; closing remaining connections"
            ),
        }
        Ok(())
    }
}

/// Resolves on SIGTERM (Cloud Run) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Bind and serve until SIGTERM or Ctrl-C: what a service's `main` calls.
pub async fn serve(service: Service, config: &SharedConfig) -> anyhow::Result<()> {
    let server = Server::bind(service, config).await?;
    tracing::info!(
        service = config.service,
        addr = %server.local_addr()?,
        "listening"
    );
    server.run(shutdown_signal()).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::routing::post;
    use tower::ServiceExt;

    fn demo() -> Service {
        named_demo("demo")
    }

    fn named_demo(name: &'static str) -> Service {
        let router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }),
            )
            .route(
                "/echo",
                post(
                    |crate::Json(v): crate::Json<serde_json::Value>| async move { crate::Json(v) },
                ),
            );
        Service::new(name, router, OpenApi::default())
            .readiness(CheckFn::new("always", || async { Ok(()) }))
            .readiness(CheckFn::new("never", || async { Err("down".to_owned()) }))
    }

    async fn call(
        app: &App,
        method: &str,
        path: &str,
        body: &'static str,
    ) -> (StatusCode, http::HeaderMap, String) {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    #[tokio::test]
    async fn operational_routes_answer_and_unknown_routes_are_problems() {
        let config = SharedConfig::local("demo", 0);
        let app = demo().app(&config);
        let (status, headers, _) = call(&app, "GET", "/health", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("x-request-id"));
        assert!(headers.contains_key("traceparent"));
        let (status, _, body) = call(&app, "GET", "/ready", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains(r#""never":"down""#) && body.contains(r#""always":"ok""#),
            "{body}"
        );
        let (status, _, body) = call(&app, "GET", "/openapi.json", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("CraftChain demo service"));
        assert_eq!(call(&app, "GET", "/docs", "").await.0, StatusCode::OK);
        let (status, headers, body) = call(&app, "GET", "/nope", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
        assert!(body.contains("route_not_found"));
        let (status, _, body) = call(&app, "DELETE", "/echo", "").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(body.contains("method_not_allowed"));
        let (_, _, metrics) = call(&app, "GET", "/metrics", "").await;
        assert!(metrics.contains("http_requests_total"), "{metrics}");
    }

    #[tokio::test]
    async fn oversized_bodies_are_413_and_slow_requests_503_problems() {
        let mut config = SharedConfig::local("demo", 0);
        config.body_limit_bytes = 16;
        let app = demo().app(&config);
        let (status, headers, body) = call(
            &app,
            "POST",
            "/echo",
            r#"{"a":"0123456789012345678901234567890"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
        assert_eq!(
            call(&app, "POST", "/echo", r#"{"a":1}"#).await.0,
            StatusCode::OK
        );

        let mut config = SharedConfig::local("demo", 0);
        config.request_timeout_secs = 0;
        let app = demo().app(&config);
        let (status, _, body) = call(&app, "GET", "/slow", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("unavailable"));
    }

    #[tokio::test]
    async fn every_answer_carries_the_request_ids_even_past_the_deadline() {
        // A service name of its own: the metrics recorder is process-wide.
        let mut config = SharedConfig::local("deadline-demo", 0);
        config.request_timeout_secs = 0;
        let app = named_demo("deadline-demo").app(&config);
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let request = http::Request::get("/slow")
            .header("x-request-id", "req-42")
            .header("traceparent", parent)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["x-request-id"], "req-42");
        let trace = response.headers()["traceparent"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            trace.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{trace}"
        );
        assert_ne!(trace, parent, "a span of its own");
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["request_id"], "req-42", "{problem}");
        let (_, _, metrics) = call(&app, "GET", "/metrics", "").await;
        assert!(
            metrics.lines().any(|l| l.starts_with("http_requests_total")
                && l.contains(r#"route="/slow""#)
                && l.contains(r#"status="503""#)
                && l.contains(r#"service="deadline-demo""#)),
            "{metrics}"
        );
    }

    /// Claims `/front/…` and answers with the request id it runs under.
    struct EchoFront;

    impl Front for EchoFront {
        fn claims(&self, request: &Request) -> bool {
            request.uri().path().starts_with("/front/")
        }

        fn answer(self: Arc<Self>, request: Request) -> FrontFuture {
            Box::pin(async move {
                if request.uri().path() == "/front/slow" {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                let id = crate::RequestContext::with_current(|c| c.request_id.to_string());
                let sensitive = request.headers()[AUTHORIZATION].is_sensitive();
                let mut response = (
                    StatusCode::OK,
                    format!("{} {sensitive}", id.unwrap_or_default()),
                )
                    .into_response();
                response.extensions_mut().insert(RouteLabel("/front"));
                response
            })
        }
    }

    #[tokio::test]
    async fn a_front_answers_what_it_claims_inside_the_request_layer() {
        let config = SharedConfig::local("front-demo", 0);
        let app = named_demo("front-demo")
            .with_front(Arc::new(EchoFront))
            .app(&config);
        let request = http::Request::get("/front/x")
            .header("x-request-id", "req-front")
            .header("authorization", "Bearer t")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-request-id"], "req-front");
        assert!(response.headers().contains_key("traceparent"));
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body, "req-front true");
        // What it does not claim is the router's.
        assert_eq!(call(&app, "GET", "/health", "").await.0, StatusCode::OK);
        let (status, _, body) = call(&app, "GET", "/frontier", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("route_not_found"), "{body}");
        let (_, _, metrics) = call(&app, "GET", "/metrics", "").await;
        assert!(
            metrics.lines().any(|l| l.starts_with("http_requests_total")
                && l.contains(r#"route="/front""#)
                && l.contains(r#"service="front-demo""#)),
            "{metrics}"
        );

        // The deadline holds on the front's answers too.
        let mut config = SharedConfig::local("front-demo", 0);
        config.request_timeout_secs = 0;
        let app = named_demo("front-demo")
            .with_front(Arc::new(EchoFront))
            .app(&config);
        let (status, headers, body) = call(&app, "GET", "/front/slow", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains(headers["x-request-id"].to_str().unwrap()),
            "{body}"
        );
    }

    #[tokio::test]
    async fn the_operational_routes_are_the_ones_a_front_leaves_to_the_router() {
        let app = demo().app(&SharedConfig::local("demo", 0));
        for path in OPERATIONAL {
            assert!(is_operational(path));
            let status = call(&app, "GET", path, "").await.0;
            assert_ne!(status, StatusCode::NOT_FOUND, "{path}");
        }
        assert!(!is_operational("/healthz"));
    }

    #[tokio::test]
    async fn the_access_log_line_carries_the_request_ids() {
        let lines = crate::telemetry::tests::Buffer::default();
        let subscriber = crate::telemetry::subscriber(
            crate::config::LogFormat::Json,
            "info",
            Some("proj".to_owned()),
            lines.clone(),
        );
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = named_demo("log-demo").app(&SharedConfig::local("log-demo", 0));
        let request = http::Request::post("/echo")
            .header("x-request-id", "req-log-7")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"a":1}"#))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let out = lines.text();
        let line: serde_json::Value = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["route"] == "/echo")
            .unwrap_or_else(|| panic!("no access log line in {out}"));
        assert_eq!(line["request_id"], "req-log-7", "{line}");
        assert_eq!(
            line["logging.googleapis.com/trace"],
            "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(line["httpRequest"]["status"], 200, "{line}");
    }

    #[tokio::test]
    async fn shutdown_lets_in_flight_requests_finish() {
        let config = SharedConfig::local("demo", 0);
        let server = Server::bind(demo(), &config).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async move {
            let _ = stop_rx.await;
        }));
        let in_flight =
            tokio::spawn(async move { reqwest::get(format!("http://{addr}/slow")).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop_tx.send(()).unwrap();
        let response = in_flight.await.unwrap().unwrap();
        assert_eq!(response.text().await.unwrap(), "done");
        running.await.unwrap().unwrap();
        assert!(
            reqwest::get(format!("http://{addr}/health")).await.is_err(),
            "still accepting after shutdown"
        );
    }
}
