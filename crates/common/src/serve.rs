//! `serve()`: how every service runs. One middleware stack (request context,
//! deadline, access log and metrics → sensitive headers → compression →
//! body limit), the operational routes (`/health`, `/ready`, `/metrics`,
//! `/openapi.json`, `/docs`), an optional front that answers the requests
//! it claims ahead of the router (the gateway's proxy), background tasks,
//! and a graceful drain on SIGTERM bounded by the configured grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Extension, Router};
use http::HeaderName;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_scalar::{Scalar, Servable};

mod admission;
mod app;
mod listener;
mod memory;
mod openapi;
mod ops;
mod request;

pub use admission::{Limits, PaceUntil};
pub use app::{App, Front, FrontFuture};
pub use listener::bind_listener;
pub use memory::{COLLECT_EVERY, runtime};
pub use openapi::add_rate_limits;
pub use ops::{Cached, READY_TTL, is_operational};
pub use request::RouteLabel;

use crate::config::SharedConfig;
use crate::extract;
use ops::{Ops, health, metrics_text, openapi_json, prometheus, ready};
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
    /// Who may read `/metrics` (admins and services); unset only in tests
    /// of this module.
    ops_auth: Option<Arc<crate::identity::Authenticator>>,
}

impl Service {
    pub fn new(name: &'static str, router: Router, mut openapi: OpenApi) -> Self {
        openapi.info.title = format!("CraftChain {name} service");
        openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
        openapi::complete(&mut openapi);
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
            ops_auth: None,
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

    /// Guard `/metrics` with `auth`: only admins and services (a Prometheus
    /// scraper with a service token, or Google OIDC on Cloud Run) read it.
    /// Every service gets this from `events::attach`, the gateway itself.
    pub fn ops_authenticator(mut self, auth: Arc<crate::identity::Authenticator>) -> Self {
        self.ops_auth = Some(auth);
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
                service: self.name,
                checks: self.checks.clone(),
                openapi: self.openapi.clone(),
                auth: self.ops_auth.clone(),
                readiness: ops::Cached::default(),
            })))
            .merge(Scalar::with_url("/docs", self.openapi.clone()));
        // The stack the router and the front share.
        let stack = ServiceBuilder::new()
            .layer(RequestLayer::new(self.name, config.request_timeout()))
            .layer(admission::AdmissionLayer(admission::Admission::new(
                config.load.limits(),
            )))
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

/// A service bound to its port, not yet serving.
pub struct Server {
    listener: TcpListener,
    service: Service,
    app: App,
    grace: Duration,
    header_read_timeout: Duration,
}

impl Server {
    /// Bind to the configured address (port 0 picks a free port).
    pub async fn bind(service: Service, config: &SharedConfig) -> anyhow::Result<Self> {
        let addr = config.bind_addr();
        let listener = bind_listener(addr, config.load.listen_backlog)
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
            header_read_timeout: Duration::from_secs(config.load.header_read_timeout_secs),
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
            header_read_timeout,
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
        let server = tokio::spawn(listener::accept_loop(
            listener,
            app,
            header_read_timeout,
            token.clone(),
        ));
        shutdown.await;
        tracing::info!(service = name, "shutting down: draining in-flight requests");
        token.cancel();
        let drain = async {
            let served = server.await;
            while tasks.join_next().await.is_some() {}
            served
        };
        match tokio::time::timeout(grace, drain).await {
            Ok(Ok(())) => {}
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

/// What a service's binary does: load its configuration from the
/// environment (validated as the service is built), start telemetry, build
/// the service with `build` and serve it until SIGTERM, on a multi-threaded
/// runtime whose idle workers give memory back ([`runtime`];
/// `TOKIO_WORKER_THREADS` sets its workers).
pub fn run_main<S, F, Fut>(service: crate::platform::ServiceId, build: F) -> anyhow::Result<()>
where
    S: crate::config::ServiceSettings,
    F: FnOnce(crate::Config<S>) -> Fut,
    Fut: Future<Output = anyhow::Result<Service>>,
{
    let config = crate::Config::<S>::load(service)?;
    let runtime = runtime().context("starting the runtime")?;
    let _telemetry = crate::telemetry::init(&config.shared);
    runtime.block_on(async move {
        let shared = config.shared.clone();
        serve(build(config).await?, &shared).await
    })
}

/// A service's whole `main.rs`: `common::service_main!(product);` runs
/// `product::build` on `product::SERVICE` through [`run_main`], with
/// mimalloc as the allocator (markedly less contention than glibc's under
/// load).
#[macro_export]
macro_rules! service_main {
    ($service:ident) => {
        #[global_allocator]
        static ALLOCATOR: $crate::serve::MiMalloc = $crate::serve::MiMalloc;

        fn main() -> ::anyhow::Result<()> {
            $crate::serve::run_main($service::SERVICE, |config: $service::Config| async move {
                $service::build(&config).await
            })
        }
    };
}

pub use mimalloc::MiMalloc;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod load_tests;
