//! The operational routes every service answers itself: `/health`,
//! `/ready` (its dependencies), `/metrics` (Prometheus), `/openapi.json`
//! and `/docs`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Extension;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::openapi::OpenApi;

use super::ReadinessCheck;
use crate::error::ApiError;
use crate::identity::{Authenticator, Role};

/// The operational routes every service answers itself.
pub(crate) const OPERATIONAL: &[&str] =
    &["/health", "/ready", "/metrics", "/openapi.json", "/docs"];

/// Whether `path` is one of the operational routes every service answers
/// itself (a front leaves them to the router).
pub fn is_operational(path: &str) -> bool {
    OPERATIONAL.contains(&path)
}

pub(super) struct Ops {
    pub(super) service: &'static str,
    pub(super) checks: Vec<Arc<dyn ReadinessCheck>>,
    pub(super) openapi: OpenApi,
    pub(super) auth: Option<Arc<Authenticator>>,
    /// The last readiness answer, reused for [`READY_TTL`].
    pub(super) readiness: Cached<(StatusCode, Arc<Readiness>)>,
}

/// How long a readiness answer is reused: probes at any rate cost at most
/// one round of checks (a store ping; at the gateway, a call to every
/// service) per interval.
pub const READY_TTL: Duration = Duration::from_secs(1);

/// A value computed at most once per interval however many ask at once:
/// the first caller computes it while the others wait for its result.
pub struct Cached<T> {
    slot: tokio::sync::Mutex<Option<(std::time::Instant, T)>>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self {
            slot: tokio::sync::Mutex::new(None),
        }
    }
}

impl<T: Clone> Cached<T> {
    /// The value, computed by `make` when it is older than `ttl`.
    pub async fn get_or_make<F, Fut>(&self, ttl: Duration, make: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((at, value)) = slot.as_ref()
            && at.elapsed() < ttl
        {
            return value.clone();
        }
        let value = make().await;
        *slot = Some((std::time::Instant::now(), value.clone()));
        value
    }
}

pub(super) async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Serialize)]
pub(super) struct Readiness {
    status: &'static str,
    checks: std::collections::BTreeMap<String, String>,
}

pub(super) async fn ready(Extension(ops): Extension<Arc<Ops>>) -> Response {
    let (status, body) = ops
        .readiness
        .get_or_make(READY_TTL, || check_all(&ops.checks))
        .await;
    (status, axum::Json(body.as_ref())).into_response()
}

async fn check_all(checks: &[Arc<dyn ReadinessCheck>]) -> (StatusCode, Arc<Readiness>) {
    let results = futures::future::join_all(checks.iter().map(|c| async move {
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
    (status, Arc::new(body))
}

pub(super) async fn openapi_json(Extension(ops): Extension<Arc<Ops>>) -> Response {
    axum::Json(ops.openapi.clone()).into_response()
}

/// The process-wide Prometheus recorder (one per process, shared by every
/// service `craftchain up` runs; each series carries a `service` label).
pub(super) fn prometheus() -> &'static PrometheusHandle {
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

/// `/metrics`: this service's series only (several services share the
/// process under `craftchain up`, and the recorder with it), to admins and
/// services only.
pub(super) async fn metrics_text(
    Extension(ops): Extension<Arc<Ops>>,
    headers: http::HeaderMap,
) -> Response {
    if let Some(auth) = &ops.auth {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::context::bearer_token);
        let Some(token) = token else {
            return ApiError::unauthorized("metrics need an admin or service token")
                .into_response();
        };
        match auth.authenticate(token).await {
            Ok(caller) if caller.is_admin() || caller.is(Role::Service) => {}
            Ok(_) => {
                return ApiError::forbidden("metrics are for admins and services").into_response();
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        own_series(&prometheus().render(), ops.service),
    )
        .into_response()
}

/// The lines of a Prometheus text exposition that belong to `service`:
/// samples labelled with it, samples with no `service` label (the
/// process's), and the `# HELP`/`# TYPE` lines of the metrics kept.
pub(super) fn own_series(text: &str, service: &str) -> String {
    let own = format!("service=\"{service}\"");
    let mut out = String::with_capacity(text.len() / 2);
    // The `#` lines of the current metric, written before its first kept
    // sample (and dropped when none is kept).
    let mut group = "";
    let mut pending: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            let name = comment.split_whitespace().nth(1).unwrap_or_default();
            if name != group {
                group = name;
                pending.clear();
            }
            pending.push(line);
            continue;
        }
        let labels = line
            .split_once('{')
            .and_then(|(_, rest)| rest.rsplit_once('}'))
            .map_or("", |(labels, _)| labels);
        if labels.contains(&own) || !labels.contains("service=\"") {
            for header in pending.drain(..) {
                out.push_str(header);
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::own_series;

    #[test]
    fn a_service_sees_its_own_series_and_the_processs_only() {
        let text = "# HELP http_requests_total Requests.\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{service=\"auth\",route=\"/a\"} 3\n\
                    http_requests_total{service=\"product\",route=\"/p\"} 5\n\
                    # TYPE secret_total counter\n\
                    secret_total{service=\"product\"} 1\n\
                    # TYPE process_open_fds gauge\n\
                    process_open_fds 12\n";
        let auth = own_series(text, "auth");
        assert!(auth.contains("route=\"/a\""));
        assert!(!auth.contains("product"), "{auth}");
        assert!(!auth.contains("secret_total"), "{auth}");
        assert!(auth.contains("# TYPE http_requests_total counter"));
        assert!(auth.contains("process_open_fds 12"));
        let product = own_series(text, "product");
        assert!(product.contains("secret_total{service=\"product\"} 1"));
        assert!(!product.contains("\"auth\""));
    }
}
