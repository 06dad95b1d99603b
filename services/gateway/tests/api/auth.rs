//! Token verification at the door: valid tokens pass with their header,
//! every forgery is refused before anything reaches a service, unknown
//! kids cannot make the gateway hammer the key server, and rotated keys
//! are picked up.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::identity::{Claims, SigningKey};
use http::header::WWW_AUTHENTICATE;
use serde_json::json;

use crate::helpers::{Gateway, TestApp, claims, client, problem_code, test_settings};

/// `GET /orders` with `token` is 401 `unauthenticated` with a Bearer
/// challenge.
async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = app.get_as("/orders", token).await;
    assert_eq!(response.status(), 401, "{what} was not refused");
    assert_eq!(
        response.headers().get(WWW_AUTHENTICATE).unwrap(),
        "Bearer",
        "{what}"
    );
    assert_eq!(problem_code(response).await, "unauthenticated", "{what}");
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn rs256_header(kid: &str) -> serde_json::Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": kid})
}

/// `header.payload.signature` → `(header.payload, signature bytes)`.
fn split_signature(token: &str) -> (&str, Vec<u8>) {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    (signed, URL_SAFE_NO_PAD.decode(signature).unwrap())
}

#[tokio::test]
async fn a_valid_token_reaches_the_upstream_with_its_authorization_header() {
    let app = TestApp::spawn().await;
    let token = app.token("user-1");

    let response = app.get_as("/orders?page=2", &token).await;

    assert_eq!(response.status(), 200);
    let seen = app.upstream.single();
    assert_eq!(seen.uri, "/orders?page=2");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
}

#[tokio::test]
async fn a_protected_route_without_a_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;

    for (method, path) in [
        (reqwest::Method::GET, "/orders"),
        (reqwest::Method::GET, "/auth/me"),
        (reqwest::Method::POST, "/products"),
        (reqwest::Method::POST, "/media/upload"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
        assert_eq!(response.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
        assert_eq!(problem_code(response).await, "unauthenticated");
    }
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_malformed_authorization_header_is_401() {
    let app = TestApp::spawn().await;

    for value in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "token-without-scheme",
    ] {
        let response = app
            .client
            .get(app.url("/orders"))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{value:?}");
        assert_eq!(problem_code(response).await, "unauthenticated");
    }
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn public_routes_pass_without_a_token() {
    let app = TestApp::spawn().await;

    for (method, path) in [
        (reqwest::Method::POST, "/auth/login"),
        (reqwest::Method::POST, "/auth/signup"),
        (reqwest::Method::GET, "/products"),
        (reqwest::Method::GET, "/products/p1"),
        (reqwest::Method::POST, "/products/search"),
        (reqwest::Method::GET, "/media/m1/content/thumb"),
        (reqwest::Method::GET, "/auth/.well-known/jwks.json"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method} {path}");
    }

    let reached: Vec<String> = app
        .upstream
        .requests()
        .iter()
        .map(|s| format!("{} {}", s.method, s.uri))
        .collect();
    assert_eq!(
        reached,
        [
            "POST /auth/login",
            "POST /auth/signup",
            "GET /products",
            "GET /products/p1",
            "POST /products/search",
            "GET /media/m1/content/thumb",
            "GET /auth/.well-known/jwks.json",
        ]
    );
}

#[tokio::test]
async fn an_invalid_token_on_a_public_route_is_refused_not_ignored() {
    let app = TestApp::spawn().await;
    let token = app.token("user-1");
    let (signed, _) = split_signature(&token);
    let unsigned = format!("{signed}.");

    let response = app
        .client
        .get(app.url("/products"))
        .bearer_auth(&unsigned)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(problem_code(response).await, "unauthenticated");
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn tokens_with_hostile_headers_are_refused_before_the_upstream() {
    let app = TestApp::spawn().await;
    let attacker = SigningKey::generate().unwrap();
    let c = claims("user-1");
    let payload = b64(&serde_json::to_value(&c).unwrap());
    let attacker_jwk = serde_json::to_value(attacker.public_jwk()).unwrap();

    // HS256 keyed with the RSA public key: the classic algorithm confusion.
    let hs256 = |secret: &[u8]| {
        let signed = format!(
            "{}.{payload}",
            b64(&json!({"alg": "HS256", "typ": "JWT", "kid": app.key.kid()}))
        );
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            signed.as_bytes(),
        );
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    let published_jwk = serde_json::to_vec(&app.key.public_jwk()).unwrap();

    let attacks = [
        (
            "alg none",
            format!("{}.{payload}.", b64(&json!({"alg": "none"}))),
        ),
        (
            "alg none with the real kid",
            format!(
                "{}.{payload}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": app.key.kid()}))
            ),
        ),
        ("HS256 with the public key DER", hs256(&app.key.public_key_der())),
        ("HS256 with the published JWK", hs256(&published_jwk)),
        (
            "embedded jwk",
            attacker
                .sign_with_header(
                    &json!({"alg": "RS256", "typ": "JWT", "kid": attacker.kid(), "jwk": attacker_jwk}),
                    &c,
                )
                .unwrap(),
        ),
        (
            "jku",
            attacker
                .sign_with_header(
                    &json!({"alg": "RS256", "typ": "JWT", "kid": attacker.kid(),
                            "jku": "http://127.0.0.1:1/evil-jwks.json"}),
                    &c,
                )
                .unwrap(),
        ),
        (
            "x5u",
            attacker
                .sign_with_header(
                    &json!({"alg": "RS256", "typ": "JWT", "kid": attacker.kid(),
                            "x5u": "http://127.0.0.1:1/evil.pem"}),
                    &c,
                )
                .unwrap(),
        ),
        (
            "jku on a token signed by the real key",
            app.key
                .sign_with_header(
                    &json!({"alg": "RS256", "typ": "JWT", "kid": app.key.kid(),
                            "jku": "http://127.0.0.1:1/evil-jwks.json"}),
                    &c,
                )
                .unwrap(),
        ),
        ("unknown kid", attacker.sign(&c).unwrap()),
        (
            "path traversal kid",
            app.key
                .sign_with_header(&rs256_header("../../etc/passwd"), &c)
                .unwrap(),
        ),
        (
            "no kid",
            app.key
                .sign_with_header(&json!({"alg": "RS256", "typ": "JWT"}), &c)
                .unwrap(),
        ),
    ];

    for (what, token) in &attacks {
        assert_refused(&app, token, what).await;
    }
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn tokens_with_invalid_claims_are_refused_before_the_upstream() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let with = |change: &dyn Fn(&mut Claims)| {
        let mut c = claims("user-1");
        change(&mut c);
        app.key.sign(&c).unwrap()
    };

    let attacks = [
        (
            "expired",
            with(&|c| {
                c.iat = now - 7200;
                c.auth_time = Some(now - 7200);
                c.exp = now - 3600;
            }),
        ),
        (
            "iat in the future",
            with(&|c| {
                c.iat = now + 3600;
                c.exp = now + 7200;
            }),
        ),
        (
            "auth_time in the future",
            with(&|c| c.auth_time = Some(now + 3600)),
        ),
        (
            "wrong iss",
            with(&|c| c.iss = "https://securetoken.google.com/someone-else".to_owned()),
        ),
        ("wrong aud", with(&|c| c.aud = "someone-else".to_owned())),
        (
            "empty sub",
            with(&|c| {
                c.sub = String::new();
                c.user_id = Some(String::new());
            }),
        ),
        ("no role", with(&|c| c.role = None)),
    ];

    for (what, token) in &attacks {
        assert_refused(&app, token, what).await;
    }
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn tokens_with_tampered_signatures_or_payloads_are_refused_before_the_upstream() {
    let app = TestApp::spawn().await;
    let token = app.token("user-1");
    let (signed, signature) = split_signature(&token);
    let (header, _) = signed.split_once('.').unwrap();

    let mut flipped = signature.clone();
    flipped[100] ^= 0x01;
    let mut admin = claims("user-1");
    admin.role = Some(common::Role::Admin);
    let other_payload = b64(&serde_json::to_value(&admin).unwrap());

    let attacks = [
        ("empty signature", format!("{signed}.")),
        (
            "one flipped signature byte",
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&flipped)),
        ),
        (
            "truncated signature",
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature[..255])),
        ),
        (
            "payload swapped under a valid signature",
            format!(
                "{header}.{other_payload}.{}",
                URL_SAFE_NO_PAD.encode(&signature)
            ),
        ),
    ];

    for (what, token) in &attacks {
        assert_refused(&app, token, what).await;
    }
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn a_cached_token_does_not_vouch_for_a_tampered_copy() {
    let app = TestApp::spawn().await;
    let token = app.token("user-1");
    assert_eq!(app.get_as("/orders", &token).await.status(), 200);
    let (signed, mut signature) = split_signature(&token);
    signature[0] ^= 0x80;

    assert_refused(
        &app,
        &format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature)),
        "tampered copy of a cached token",
    )
    .await;
    assert_eq!(app.get_as("/orders", &token).await.status(), 200);
    assert_eq!(app.upstream.requests().len(), 2);
}

#[tokio::test]
async fn repeated_requests_with_one_token_fetch_the_keys_once() {
    let app = TestApp::spawn().await;
    let token = app.token("user-1");

    for _ in 0..20 {
        assert_eq!(app.get_as("/orders", &token).await.status(), 200);
    }

    assert_eq!(app.upstream.requests().len(), 20);
    assert_eq!(app.jwks.fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_causes_at_most_one_key_refetch() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get_as("/orders", &app.token("user-1")).await.status(),
        200
    );
    assert_eq!(app.jwks.fetches(), 1, "the first request fetches the keys");
    let c = claims("user-1");
    let tokens: Vec<String> = (0..200)
        .map(|i| {
            app.key
                .sign_with_header(&rs256_header(&format!("unknown-kid-{i}")), &c)
                .unwrap()
        })
        .collect();

    let statuses = futures::future::join_all(
        tokens
            .iter()
            .map(|t| async { app.get_as("/orders", t).await.status() }),
    )
    .await;

    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        app.jwks.fetches() <= 2,
        "{} key fetches for 200 unknown kids",
        app.jwks.fetches()
    );
    assert_eq!(app.upstream.requests().len(), 1);
}

#[tokio::test]
async fn a_key_published_before_use_is_accepted_without_another_fetch() {
    // The usual rotation: the auth service publishes the next key next to
    // the current one, and signs with it only later.
    let app = TestApp::spawn().await;
    let next = SigningKey::generate().unwrap();
    app.jwks.publish(&[&app.key, &next]);
    assert_eq!(
        app.get_as("/orders", &app.token("user-1")).await.status(),
        200
    );
    assert_eq!(app.jwks.fetches(), 1);

    let rotated = next.sign(&claims("user-1")).unwrap();

    assert_eq!(app.get_as("/orders", &rotated).await.status(), 200);
    assert_eq!(app.jwks.fetches(), 1, "the key was already known");
    assert_eq!(app.upstream.requests().len(), 2);
}

#[tokio::test]
async fn a_token_from_an_unpublished_key_is_refused_until_the_jwks_serves_it() {
    let app = TestApp::spawn().await;
    let next = SigningKey::generate().unwrap();
    let rotated = next.sign(&claims("user-1")).unwrap();

    // Not published yet: the unknown kid makes the gateway fetch the keys,
    // and the key is not among them.
    assert_refused(&app, &rotated, "token of an unpublished key").await;
    assert_eq!(app.jwks.fetches(), 1);

    app.jwks.publish(&[&app.key, &next]);

    // A gateway asks the key server about unknown kids at most once per
    // 30 s (the verifier's min_refetch_interval, not configurable), so this
    // gateway keeps refusing for now, without asking again: that limit is
    // what protects the key server from floods of forged kids.
    assert_refused(&app, &rotated, "token of a key published a moment ago").await;
    assert_eq!(app.jwks.fetches(), 1);

    // Waiting 30 s is not possible here. A gateway whose next key fetch
    // happens after the publication — here a second gateway on the same
    // key server, as after the interval or a restart — accepts the key,
    // fetching it from the server rather than from anything this test
    // hands it.
    let second = Gateway::spawn(test_settings(&app.upstream.url()), app.jwks.url()).await;
    let response = client()
        .get(second.url("/orders"))
        .bearer_auth(&rotated)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.jwks.fetches(), 2);
    assert_eq!(app.upstream.requests().len(), 1);
}
