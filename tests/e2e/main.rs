//! End-to-end tests: real services started by the launcher, driven over
//! HTTP with real tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blockchain;
mod events;
mod gateway;
mod media;
mod money;
mod system;

use system::TestSystem;
use testkit::HttpAuthApi;

/// `services` started by the launcher; the gateway's base URL (no trailing
/// slash) and an auth client that goes through it.
pub(crate) async fn through_gateway(
    services: &[&'static str],
) -> (TestSystem, String, HttpAuthApi) {
    let system = TestSystem::builder()
        .services(services)
        .start()
        .await
        .unwrap();
    let gateway = system
        .url("gateway")
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let auth = HttpAuthApi::new(system.url("gateway"));
    (system, gateway, auth)
}
