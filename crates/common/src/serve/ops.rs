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

/// The operational routes every service answers itself.
pub(crate) const OPERATIONAL: &[&str] =
    &["/health", "/ready", "/metrics", "/openapi.json", "/docs"];

/// Whether `path` is one of the operational routes every service answers
/// itself (a front leaves them to the router).
pub fn is_operational(path: &str) -> bool {
    OPERATIONAL.contains(&path)
}

pub(super) struct Ops {
    pub(super) checks: Vec<Arc<dyn ReadinessCheck>>,
    pub(super) openapi: OpenApi,
}

pub(super) async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    checks: std::collections::BTreeMap<String, String>,
}

pub(super) async fn ready(Extension(ops): Extension<Arc<Ops>>) -> Response {
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

pub(super) async fn metrics_text() -> Response {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
        .into_response()
}
