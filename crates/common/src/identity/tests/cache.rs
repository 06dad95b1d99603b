//! The key cache under floods of unknown kids, key rotation and outages.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::future::join_all;
use wiremock::MockServer;

use super::{Counting, claims, config, fail_jwks, jwks_url, requests, serve_jwks};
use crate::identity::{JwksUrl, SigningKey, Verifier, VerifierConfig, VerifyError};

fn http_verifier(
    server: &MockServer,
    config: VerifierConfig,
) -> (Verifier, Arc<std::sync::atomic::AtomicUsize>) {
    let (source, fetches) = Counting::new(JwksUrl::new(jwks_url(server)).unwrap());
    (Verifier::new(config, Arc::new(source)), fetches)
}

/// 200 tokens, each under a different unknown kid.
fn unknown_kid_tokens() -> Vec<String> {
    let attacker = SigningKey::generate().unwrap();
    (0..200)
        .map(|i| {
            let head = serde_json::json!({"alg": "RS256", "kid": format!("unknown-{i}")});
            attacker.sign_with_header(&head, &claims()).unwrap()
        })
        .collect()
}

/// Verifies all the tokens concurrently; all must be refused as unknown.
async fn flood(verifier: &Verifier, tokens: &[String]) {
    let results = join_all(tokens.iter().map(|t| verifier.verify(t))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(VerifyError::UnknownKid)))
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_on_a_cold_cache_fetches_once() {
    let server = MockServer::start().await;
    let key = SigningKey::generate().unwrap();
    serve_jwks(&server, &[&key], None).await;
    let (verifier, fetches) = http_verifier(&server, config());
    flood(&verifier, &unknown_kid_tokens()).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_on_a_fresh_cache_refetches_at_most_once_per_interval() {
    let server = MockServer::start().await;
    let key = SigningKey::generate().unwrap();
    serve_jwks(&server, &[&key], Some(3600)).await;
    let (verifier, fetches) = http_verifier(&server, config());
    let tokens = unknown_kid_tokens();
    let valid = key.sign(&claims()).unwrap();
    verifier.warm().await.unwrap();
    flood(&verifier, &tokens).await; // within the interval after warm: no fetch
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    flood(&verifier, &tokens).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(requests(&server).await, 2);
    // The known key kept working throughout.
    verifier.verify(&valid).await.unwrap();
}

#[tokio::test]
async fn a_rotated_key_is_accepted_once_the_jwks_serves_it() {
    let server = MockServer::start().await;
    let old = SigningKey::generate().unwrap();
    let new = SigningKey::generate().unwrap();
    serve_jwks(&server, &[&old], Some(3600)).await;
    let (verifier, fetches) = http_verifier(&server, config());
    verifier.warm().await.unwrap();
    let token = new.sign(&claims()).unwrap();
    assert!(matches!(
        verifier.verify(&token).await,
        Err(VerifyError::UnknownKid)
    ));

    serve_jwks(&server, &[&old, &new], Some(3600)).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.sub, "user-1");
    verifier
        .verify(&old.sign(&super::claims()).unwrap())
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn keys_endpoint_down_with_no_cache_is_unavailable() {
    let server = MockServer::start().await;
    fail_jwks(&server).await;
    let (verifier, fetches) = http_verifier(&server, config());
    let token = SigningKey::generate().unwrap().sign(&claims()).unwrap();
    let err = verifier.verify(&token).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(matches!(
        std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<crate::identity::KeyFetchError>()),
        Some(crate::identity::KeyFetchError::Status { status: 500, .. })
    ));
    // Retried at most once per interval, still unavailable.
    assert!(verifier.verify(&token).await.unwrap_err().is_unavailable());
    assert!(verifier.warm().await.unwrap_err().is_unavailable());
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_keys_endpoint_is_unavailable() {
    let server = MockServer::start().await;
    let url = jwks_url(&server);
    drop(server);
    let source = JwksUrl::new(url).unwrap();
    let verifier = Verifier::new(config(), Arc::new(source));
    assert!(verifier.warm().await.unwrap_err().is_unavailable());
}

fn short_cache(max_stale: Duration) -> VerifierConfig {
    VerifierConfig {
        min_refetch_interval: Duration::from_millis(150),
        min_cache: Duration::from_millis(100),
        max_cache: Duration::from_millis(100),
        max_stale,
        ..config()
    }
}

#[tokio::test]
async fn stale_keys_are_used_while_the_endpoint_is_down() {
    let server = MockServer::start().await;
    let key = SigningKey::generate().unwrap();
    serve_jwks(&server, &[&key], None).await;
    let (verifier, fetches) = http_verifier(&server, short_cache(Duration::from_secs(3600)));
    verifier.warm().await.unwrap();
    fail_jwks(&server).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let token = key.sign(&claims()).unwrap();
    verifier.verify(&token).await.unwrap();
    verifier.verify(&token).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "one failed refetch");

    serve_jwks(&server, &[&key], None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    verifier.verify(&token).await.unwrap();
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        3,
        "recovers once the endpoint is back"
    );
}

#[tokio::test]
async fn keys_past_max_stale_are_not_used() {
    let server = MockServer::start().await;
    let key = SigningKey::generate().unwrap();
    serve_jwks(&server, &[&key], None).await;
    let (verifier, _) = http_verifier(&server, short_cache(Duration::from_millis(50)));
    verifier.warm().await.unwrap();
    fail_jwks(&server).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = verifier
        .verify(&key.sign(&claims()).unwrap())
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn max_age_keeps_keys_fresh_beyond_min_cache() {
    let server = MockServer::start().await;
    let key = SigningKey::generate().unwrap();
    serve_jwks(&server, &[&key], Some(3600)).await;
    let config = VerifierConfig {
        max_cache: Duration::from_secs(6 * 3600),
        ..short_cache(Duration::ZERO)
    };
    let (verifier, fetches) = http_verifier(&server, config);
    verifier.warm().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    verifier
        .verify(&key.sign(&claims()).unwrap())
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}
