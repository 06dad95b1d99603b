//! What the gateway needs in front of services on Cloud Run: `https://`
//! upstreams, trusted through the system's roots or a configured CA, and
//! the gateway's own ID token for each service in
//! `X-Serverless-Authorization`, beside the caller's `Authorization`.
//!
//! `tests/fixtures` holds a test-only CA and a `localhost` / `127.0.0.1`
//! certificate it issued (P-256, valid for a century), made with openssl:
//! `req -x509` for the CA, `req` + `x509 -req` with `CA:FALSE`, the two
//! names and `serverAuth` for the upstream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use tokio::net::TcpListener;
use url::Url;

use crate::helpers::{EchoUpstream, TestApp, problem_code};

fn test_ca() -> std::path::PathBuf {
    format!("{}/tests/fixtures/test-ca.pem", env!("CARGO_MANIFEST_DIR")).into()
}

#[tokio::test]
async fn an_https_upstream_is_reached_over_tls_trusted_through_the_configured_ca() {
    let upstream = EchoUpstream::start_tls().await;
    let app =
        TestApp::spawn_in_front_of(upstream, |s| s.upstream_ca_file = Some(test_ca()), |_| {})
            .await;

    let response = app.get("/products?q=pot").await;

    assert_eq!(response.status(), 200);
    let seen = app.upstream.single();
    assert_eq!(seen.uri, "/products?q=pot");
    let port = app.upstream.url().port().unwrap();
    assert_eq!(
        seen.header("host"),
        Some(format!("localhost:{port}").as_str())
    );
    // Readiness goes the same way.
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());
}

#[tokio::test]
async fn an_upstream_whose_certificate_is_not_trusted_is_never_sent_the_request() {
    let upstream = EchoUpstream::start_tls().await;
    let app = TestApp::spawn_in_front_of(upstream, |_| {}, |_| {}).await;

    let response = app.get("/products").await;

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(problem_code(response).await, "upstream_unreachable");
    assert!(app.upstream.requests().is_empty());
}

/// The metadata server's identity endpoint: an ID token per audience,
/// after `delay`; the audiences asked for, in order.
#[derive(Clone, Default)]
struct Metadata {
    asked: Arc<std::sync::Mutex<Vec<String>>>,
    delay: Duration,
}

async fn identity(
    State(metadata): State<Metadata>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Result<String, StatusCode> {
    let audience = query.get("audience").ok_or(StatusCode::BAD_REQUEST)?;
    metadata.asked.lock().unwrap().push(audience.clone());
    tokio::time::sleep(metadata.delay).await;
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        return Err(StatusCode::FORBIDDEN);
    }
    Ok(format!("id-token-for-{audience}"))
}

async fn metadata_server(delay: Duration) -> (Url, Metadata) {
    let metadata = Metadata {
        delay,
        ..Metadata::default()
    };
    let router = Router::new()
        .route(
            "/computeMetadata/v1/instance/service-accounts/default/identity",
            get(identity),
        )
        .with_state(metadata.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, metadata)
}

/// A gateway whose ID tokens come from the metadata server at `url`.
async fn on_cloud_run(url: Url) -> TestApp {
    TestApp::spawn_in_front_of(
        EchoUpstream::start().await,
        |_| {},
        |shared| {
            shared.service_auth.mode = common::config::ServiceAuthMode::Metadata;
            shared.service_auth.metadata_url = url;
        },
    )
    .await
}

#[tokio::test]
async fn on_cloud_run_every_upstream_call_carries_the_gateways_id_token() {
    let (metadata_url, metadata) = metadata_server(Duration::ZERO).await;
    let app = on_cloud_run(metadata_url).await;
    let token = app.token("user-1");

    for _ in 0..2 {
        let response = app
            .client
            .get(app.url("/auth/me"))
            .bearer_auth(&token)
            .header("x-serverless-authorization", "Bearer forged")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    let audience = app.upstream.url().origin().ascii_serialization();
    for seen in app.upstream.requests() {
        assert_eq!(
            seen.header("x-serverless-authorization"),
            Some(format!("Bearer id-token-for-{audience}").as_str())
        );
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Bearer {token}").as_str()),
            "the caller's own token is passed on as it came"
        );
    }
    assert_eq!(app.upstream.requests().len(), 2);
    // (The gateway also asks once for the auth service's audience, to load
    // the revocations in force.)
    let asked_for_upstream = metadata
        .asked
        .lock()
        .unwrap()
        .iter()
        .filter(|a| **a == audience)
        .count();
    assert_eq!(asked_for_upstream, 1, "the token is cached");
}

#[tokio::test]
async fn without_an_id_token_the_upstream_is_not_called() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metadata_url = Url::parse(&format!("http://{}/", gone.local_addr().unwrap())).unwrap();
    drop(gone);
    let app = on_cloud_run(metadata_url).await;

    let response = app.get("/products").await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_metadata_server_that_hangs_is_a_prompt_503() {
    let (metadata_url, _) = metadata_server(Duration::from_secs(30)).await;
    let app = on_cloud_run(metadata_url).await;

    let started = Instant::now();
    let response = app.get("/products").await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(app.upstream.requests().is_empty());
}
