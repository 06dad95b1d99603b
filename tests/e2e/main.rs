//! End-to-end tests: real services started by the launcher, driven over
//! HTTP with real tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analytics;
mod blockchain;
mod events;
mod gateway;
mod media;
mod ml;
mod money;
mod notification;
mod pricing;
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

/// anvil's fourth dev account, standing in for the artisan's own wallet.
pub(crate) const ARTISAN_WALLET: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/// `token`'s artisan lists a product described by `body` through the
/// gateway; the product as created (201 asserted).
pub(crate) async fn create_product(
    http: &reqwest::Client,
    gw: &str,
    token: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let (status, created) = send(
        http.post(format!("{gw}/products"))
            .bearer_auth(token)
            .json(body),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
    created
}

/// Send `req`; its status and JSON body (`null` when there is none).
pub(crate) async fn send(req: reqwest::RequestBuilder) -> (reqwest::StatusCode, serde_json::Value) {
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// `artisan` adds [`ARTISAN_WALLET`] to their profile through the gateway
/// (read for its ETag, then patched with `If-Match`).
pub(crate) async fn add_artisan_wallet(
    http: &reqwest::Client,
    gw: &str,
    artisan: &testkit::TestUser,
) {
    let me = http
        .get(format!("{gw}/auth/me"))
        .bearer_auth(&artisan.id_token)
        .send()
        .await
        .unwrap();
    let etag = me.headers()["etag"].to_str().unwrap().to_owned();
    let (status, body) = send(
        http.patch(format!("{gw}/auth/me"))
            .bearer_auth(&artisan.id_token)
            .header("if-match", etag)
            .json(&serde_json::json!({"wallet_address": ARTISAN_WALLET})),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
}
