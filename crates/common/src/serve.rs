//! `serve()`: how every service runs. One middleware stack (request context
//! → access log and metrics → sensitive headers → timeout → compression →
//! body limit), the operational routes (`/health`, `/ready`, `/metrics`,
//! `/openapi.json`, `/docs`), background tasks, and a graceful drain on
//! SIGTERM bounded by the configured grace period.

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
        }
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
        self.router
            .clone()
            .merge(ops)
            .fallback(extract::not_found)
            .method_not_allowed_fallback(extract::method_not_allowed)
            .layer(
                ServiceBuilder::new()
                    .layer(middleware::from_fn(context::propagate))
                    .layer(middleware::from_fn_with_state(service, access_log))
                    .layer(SetSensitiveRequestHeadersLayer::new([
                        AUTHORIZATION,
                        COOKIE,
                        SET_COOKIE,
                        HeaderName::from_static("x-service-secret"),
                    ]))
                    .layer(middleware::from_fn_with_state(timeout, deadline))
                    .layer(CompressionLayer::new())
                    .layer(DefaultBodyLimit::max(config.body_limit_bytes)),
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
        match builder.install_recorder() {
            Ok(handle) => handle,
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

async fn metrics_text() -> Response {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
        .into_response()
}

/// One log line and the request metrics per request.
async fn access_log(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let user_agent = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let user = context::RequestContext::current()
        .and_then(|c| c.user.get().cloned())
        .unwrap_or_default();
    let labels = [
        ("service", service.to_owned()),
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..3])
        .record(elapsed.as_secs_f64());
    if route != "/health" && route != "/metrics" {
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
        let _ = prometheus();
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
