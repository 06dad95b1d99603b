//! `serve()`: how every service runs. One middleware stack (request context
//! → access log and metrics → sensitive headers → timeout → compression →
//! body limit), the operational routes (`/health`, `/ready`, `/metrics`,
//! `/openapi.json`, `/docs`), background tasks, and a graceful drain on
//! SIGTERM bounded by the configured grace period.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
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

use crate::config::SharedConfig;
use crate::context;
use crate::error::ApiError;
use crate::extract;

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
    own_fallback: bool,
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
            own_fallback: false,
            body_limit: None,
        }
    }

    /// Accept request bodies up to `bytes` instead of the configured
    /// default (the media service's uploads).
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// The router answers every unknown route itself (the gateway's proxy);
    /// keep its fallback instead of the 404 problem.
    pub fn with_own_fallback(mut self) -> Self {
        self.own_fallback = true;
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

    /// The complete router: service routes, operational routes, fallbacks
    /// and the middleware stack. Tests drive it with `oneshot`.
    pub fn router(&self, config: &SharedConfig) -> Router {
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
        let timeout = config.request_timeout();
        let service = self.name;
        let router = self.router.clone().merge(ops);
        let router = if self.own_fallback {
            router
        } else {
            router.fallback(extract::not_found)
        };
        router
            .method_not_allowed_fallback(extract::method_not_allowed)
            .layer(
                ServiceBuilder::new()
                    .layer(middleware::from_fn(context::propagate))
                    .layer(middleware::from_fn_with_state(
                        Arc::new(RequestMetrics::new(service)),
                        access_log,
                    ))
                    .layer(SetSensitiveRequestHeadersLayer::new([
                        AUTHORIZATION,
                        COOKIE,
                        SET_COOKIE,
                        HeaderName::from_static("x-service-secret"),
                    ]))
                    .layer(middleware::from_fn_with_state(timeout, deadline))
                    .layer(CompressionLayer::new())
                    .layer(DefaultBodyLimit::max(
                        self.body_limit.unwrap_or(config.body_limit_bytes),
                    )),
            )
    }
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

/// A route name a handler puts in its response's extensions when axum's
/// `MatchedPath` does not say enough (the gateway's catch-all proxy).
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

/// A service's request metrics, with the handles of each series kept, so
/// that a request records with two atomic updates instead of building its
/// labels and looking the series up in the registry.
struct RequestMetrics {
    service: &'static str,
    series: std::sync::RwLock<SeriesByRoute>,
}

/// route → (method, status) → the series' handles.
type SeriesByRoute = HashMap<Box<str>, HashMap<(http::Method, u16), Series>>;

#[derive(Clone)]
struct Series {
    requests: metrics::Counter,
    latency: metrics::Histogram,
}

impl RequestMetrics {
    fn new(service: &'static str) -> Self {
        Self {
            service,
            series: std::sync::RwLock::default(),
        }
    }

    fn record(&self, route: &str, method: &http::Method, status: u16, elapsed: Duration) {
        use http::Method;
        // Methods a client made up share one series: labels stay bounded.
        let method = match *method {
            Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::PATCH
            | Method::DELETE
            | Method::OPTIONS => method.clone(),
            _ => Method::from_bytes(b"OTHER").unwrap_or_default(),
        };
        let method = &method;
        let key = (method.clone(), status);
        let known = self
            .series
            .read()
            .ok()
            .and_then(|s| s.get(route).and_then(|m| m.get(&key)).cloned());
        let series = known.unwrap_or_else(|| {
            let labels = [
                ("service", self.service.to_owned()),
                ("method", method.to_string()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ];
            let series = Series {
                requests: metrics::counter!("http_requests_total", &labels),
                latency: metrics::histogram!("http_request_duration_seconds", &labels[..3]),
            };
            if let Ok(mut all) = self.series.write() {
                all.entry(route.into())
                    .or_default()
                    .insert(key, series.clone());
            }
            series
        });
        series.requests.increment(1);
        series.latency.record(elapsed.as_secs_f64());
    }
}

/// One log line and the request metrics per request.
async fn access_log(
    State(metrics): State<Arc<RequestMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let service = metrics.service;
    let method = request.method().clone();
    // What only the log line needs is copied only when it will be written.
    let logging = tracing::enabled!(tracing::Level::INFO);
    let (path, user_agent) = if logging {
        let agent = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        (request.uri().path().to_owned(), agent.to_owned())
    } else {
        (String::new(), String::new())
    };
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let label = response.extensions().get::<RouteLabel>().map(|l| l.0);
    let route = matched
        .as_ref()
        .map(MatchedPath::as_str)
        .or(label)
        .unwrap_or("unmatched");
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics.record(route, &method, status, elapsed);
    if logging && route != "/health" && route != "/metrics" {
        let user = context::RequestContext::current()
            .and_then(|c| c.user.get().cloned())
            .unwrap_or_default();
        tracing::info!(
            service,
            route,
            user,
            http.method = %method,
            http.url = path,
            http.status = u64::from(status),
            http.latency_ms = elapsed.as_secs_f64() * 1000.0,
            http.user_agent = user_agent,
            "{method} {route} {status}"
        );
    }
    response
}

/// Answer 503 problem+json when a request takes longer than the deadline.
async fn deadline(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(
            Duration::from_secs(1),
            "the request took too long and was abandoned",
        )
        .into_response(),
    }
}

/// A service bound to its port, not yet serving.
pub struct Server {
    listener: TcpListener,
    service: Service,
    router: Router,
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
        let router = service.router(config);
        Self {
            listener,
            service,
            router,
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
            router,
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
            router.into_make_service_with_connect_info::<SocketAddr>(),
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
        Service::new("demo", router, OpenApi::default())
            .readiness(CheckFn::new("always", || async { Ok(()) }))
            .readiness(CheckFn::new("never", || async { Err("down".to_owned()) }))
    }

    async fn call(
        router: &Router,
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
        let response = router.clone().oneshot(request).await.unwrap();
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
        let router = demo().router(&config);
        let (status, headers, _) = call(&router, "GET", "/health", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("x-request-id"));
        assert!(headers.contains_key("traceparent"));
        let (status, _, body) = call(&router, "GET", "/ready", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains(r#""never":"down""#) && body.contains(r#""always":"ok""#),
            "{body}"
        );
        let (status, _, body) = call(&router, "GET", "/openapi.json", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("CraftChain demo service"));
        assert_eq!(call(&router, "GET", "/docs", "").await.0, StatusCode::OK);
        let (status, headers, body) = call(&router, "GET", "/nope", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
        assert!(body.contains("route_not_found"));
        let (status, _, body) = call(&router, "DELETE", "/echo", "").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(body.contains("method_not_allowed"));
        let (_, _, metrics) = call(&router, "GET", "/metrics", "").await;
        assert!(metrics.contains("http_requests_total"), "{metrics}");
    }

    #[tokio::test]
    async fn oversized_bodies_are_413_and_slow_requests_503_problems() {
        let mut config = SharedConfig::local("demo", 0);
        config.body_limit_bytes = 16;
        let router = demo().router(&config);
        let (status, headers, body) = call(
            &router,
            "POST",
            "/echo",
            r#"{"a":"0123456789012345678901234567890"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
        assert_eq!(
            call(&router, "POST", "/echo", r#"{"a":1}"#).await.0,
            StatusCode::OK
        );

        let mut config = SharedConfig::local("demo", 0);
        config.request_timeout_secs = 0;
        let router = demo().router(&config);
        let (status, _, body) = call(&router, "GET", "/slow", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("unavailable"));
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
