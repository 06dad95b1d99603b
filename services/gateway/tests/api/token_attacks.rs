//! Forged tokens at the door: hostile headers, invalid claims, tampered
//! signatures and payloads are refused before anything reaches a service.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::identity::{Claims, SigningKey};
use http::header::WWW_AUTHENTICATE;
use serde_json::json;

use crate::helpers::{TestApp, claims, problem_code};

/// `GET /orders` with `token` is 401 `unauthenticated` with a Bearer
/// challenge.
pub(crate) async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = app.get_as("/orders", token).await;
    assert_eq!(response.status(), 401, "{what} was not refused");
    assert_eq!(
        response.headers().get(WWW_AUTHENTICATE).unwrap(),
        "Bearer",
        "{what}"
    );
    assert_eq!(problem_code(response).await, "unauthenticated", "{what}");
}

pub(crate) fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

pub(crate) fn rs256_header(kid: &str) -> serde_json::Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": kid})
}

/// `header.payload.signature` → `(header.payload, signature bytes)`.
pub(crate) fn split_signature(token: &str) -> (&str, Vec<u8>) {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    (signed, URL_SAFE_NO_PAD.decode(signature).unwrap())
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
