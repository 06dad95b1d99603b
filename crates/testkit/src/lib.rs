//! Test support. [`TestSystem`] starts real services on free ports in a
//! temporary directory (real SQLite files, real HTTP between them) through
//! the same launcher as `craftchain up`; [`AuthApi`] signs users up and in
//! through the real auth service (or mints tokens locally with
//! [`FakeAuthApi`] for unit tests); [`Probe`] is a real event subscriber
//! that records what reaches it.

mod auth_api;
pub mod http;
pub mod images;
mod probe;
pub mod standins;
mod system;

pub use auth_api::{AuthApi, FakeAuthApi, HttpAuthApi, Session, TestUser};
pub use probe::{Probe, ProbeOptions};
pub use standins::FakeGcs;
pub use system::{TestSystem, TestSystemBuilder};

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
