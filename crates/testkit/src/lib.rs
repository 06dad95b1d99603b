//! Test support for every service's tests. [`TestService`] runs one
//! service's whole HTTP stack over a fresh data directory, in process or on
//! a free port, with typed requests, tokens for each role, event pushes and
//! its outbox; [`AuthApi`] signs users up and in through the real auth
//! service (or mints tokens locally with [`FakeAuthApi`]); [`Probe`] is a
//! real event subscriber that records what reaches it. It depends on no
//! service: the whole-system harness lives with the end-to-end tests.
//!
//! A harness fails the test that uses it, so it may panic.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod auth_api;
pub mod bench;
pub mod bounds;
pub mod http;
pub mod images;
pub mod memory;
pub mod pdf;
mod probe;
mod service;
pub mod standins;
pub mod users;

pub use auth_api::{AuthApi, FakeAuthApi, HttpAuthApi, Session, TestUser, claims};
pub use probe::{Probe, ProbeOptions};
pub use service::{BuildFn, TestService, TestServiceBuilder};
pub use standins::{FakeGcs, FirebaseAuthEmulator, FirestoreEmulator, PubSubEmulator};

/// Send logs to the test output when `RUST_LOG` is set (once per process).
pub fn init_logs() {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let subscriber = common::telemetry::subscriber(
            common::config::LogFormat::Text,
            &filter,
            None,
            std::io::stderr,
        );
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// Poll `check` every 20 ms until it yields `Some`, or fail after `timeout`.
pub async fn eventually<T, F, Fut>(
    timeout: std::time::Duration,
    what: &str,
    mut check: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Holds a service's error type to the shared answer for a store outage:
/// whatever the service maps itself, an unavailable store is 503
/// `unavailable` with `Retry-After` (through [`events::store_problem`]),
/// never a 500.
pub fn assert_store_outage_is_503<E>()
where
    E: From<store::StoreError>,
    common::error::ApiError: From<E>,
{
    let outage = store::StoreError::unavailable(std::io::Error::other("backend down"));
    let api = common::error::ApiError::from(E::from(outage));
    assert_eq!(api.status(), ::http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.code(), common::error::codes::UNAVAILABLE);
    let response = axum::response::IntoResponse::into_response(api);
    assert!(response.headers().contains_key(::http::header::RETRY_AFTER));
}
