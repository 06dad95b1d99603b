//! Every way of forging or bending a token is refused with its own reason.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{Counting, claims, config, now, static_verifier};
use crate::identity::{Caller, JwkSet, Role, SigningKey, StaticKeys, Verifier, VerifyError};

struct Fixture {
    key: SigningKey,
    attacker: SigningKey,
    verifier: Verifier,
}

fn fixture() -> Fixture {
    let key = SigningKey::generate().unwrap();
    let attacker = SigningKey::generate().unwrap();
    let verifier = static_verifier(&[&key]);
    Fixture {
        key,
        attacker,
        verifier,
    }
}

fn header(kid: &str) -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": kid})
}

async fn refused(verifier: &Verifier, token: &str) -> VerifyError {
    verifier
        .verify(token)
        .await
        .expect_err("token was accepted")
}

async fn with_claims(f: &Fixture, change: impl FnOnce(&mut Value)) -> Result<(), VerifyError> {
    let mut body = claims();
    change(&mut body);
    f.verifier
        .verify(&f.key.sign(&body).unwrap())
        .await
        .map(drop)
}

#[tokio::test]
async fn valid_token_yields_its_caller() {
    let f = fixture();
    let verified = f
        .verifier
        .verify(&f.key.sign(&claims()).unwrap())
        .await
        .unwrap();
    assert_eq!(verified.sub, "user-1");
    assert_eq!(
        verified.firebase.as_ref().unwrap().sign_in_provider,
        "password"
    );
    let caller = Caller::from_claims(&verified).unwrap();
    assert_eq!(caller.uid, "user-1");
    assert_eq!(caller.email.as_deref(), Some("user@example.com"));
    assert_eq!(caller.role, Role::Buyer);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let f = fixture();
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    for alg in ["none", "None", "NONE"] {
        let head = json!({"alg": alg, "typ": "JWT", "kid": f.key.kid()});
        let token = format!("{}.{}.", encode(&head), encode(&claims()));
        assert!(matches!(
            refused(&f.verifier, &token).await,
            VerifyError::UnsupportedAlgorithm
        ));
    }
}

#[tokio::test]
async fn empty_signature_is_refused() {
    let f = fixture();
    let token = f.key.sign(&claims()).unwrap();
    let unsigned = &token[..=token.rfind('.').unwrap()];
    assert!(matches!(
        refused(&f.verifier, unsigned).await,
        VerifyError::BadSignature
    ));
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_is_refused() {
    let f = fixture();
    let mut head = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    head.kid = Some(f.key.kid().to_owned());
    let secrets = [
        f.key.public_key_der(),
        f.key.public_jwk().n.unwrap().into_bytes(),
    ];
    for secret in secrets {
        let secret = jsonwebtoken::EncodingKey::from_secret(&secret);
        let token = jsonwebtoken::encode(&head, &claims(), &secret).unwrap();
        assert!(matches!(
            refused(&f.verifier, &token).await,
            VerifyError::UnsupportedAlgorithm
        ));
    }
}

#[tokio::test]
async fn other_algorithms_are_refused() {
    let f = fixture();
    for alg in ["RS384", "RS512", "PS256", "ES256", "EdDSA", "HS512"] {
        let head = json!({"alg": alg, "kid": f.key.kid()});
        let token = f.key.sign_with_header(&head, &claims()).unwrap();
        assert!(matches!(
            refused(&f.verifier, &token).await,
            VerifyError::UnsupportedAlgorithm
        ));
    }
}

#[tokio::test]
async fn embedded_key_headers_are_refused() {
    let f = fixture();
    let jwk = serde_json::to_value(f.attacker.public_jwk()).unwrap();
    let attacks = [
        ("jwk", jwk),
        ("jku", json!("https://evil.example/jwks.json")),
        ("x5u", json!("https://evil.example/cert.pem")),
        (
            "x5c",
            json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
        ),
        ("crit", json!(["exp"])),
    ];
    for (member, value) in attacks {
        let mut head = header(f.key.kid());
        head[member] = value;
        let token = f.attacker.sign_with_header(&head, &claims()).unwrap();
        assert!(
            matches!(
                refused(&f.verifier, &token).await,
                VerifyError::ForbiddenHeader
            ),
            "{member}"
        );
    }
}

#[tokio::test]
async fn kids_are_checked_before_any_key_lookup() {
    let key = SigningKey::generate().unwrap();
    let source = StaticKeys::from_jwk_set(&JwkSet::from_signing_keys([&key]));
    let (source, fetches) = Counting::new(source);
    let verifier = Verifier::new(config(), Arc::new(source));
    let cases = [
        (json!({"alg": "RS256"}), "missing"),
        (header("../../etc/passwd"), "traversal"),
        (header(""), "empty"),
        (header(&"k".repeat(129)), "long"),
        (json!({"alg": "RS256", "kid": 42}), "number"),
    ];
    for (head, case) in cases {
        let token = key.sign_with_header(&head, &claims()).unwrap();
        let err = refused(&verifier, &token).await;
        let expected = match case {
            "missing" => matches!(err, VerifyError::MissingKid),
            "number" => matches!(err, VerifyError::Malformed),
            _ => matches!(err, VerifyError::InvalidKid),
        };
        assert!(expected, "{case}: {err:?}");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unknown_kid_and_a_foreign_key_under_our_kid_are_refused() {
    let f = fixture();
    let unknown = f.attacker.sign(&claims()).unwrap();
    assert!(matches!(
        refused(&f.verifier, &unknown).await,
        VerifyError::UnknownKid
    ));
    let impostor = f
        .attacker
        .sign_with_header(&header(f.key.kid()), &claims())
        .unwrap();
    assert!(matches!(
        refused(&f.verifier, &impostor).await,
        VerifyError::BadSignature
    ));
}

#[tokio::test]
async fn a_flipped_signature_byte_is_refused() {
    let f = fixture();
    let token = f.key.sign(&claims()).unwrap();
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    signature[100] ^= 0x01;
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature));
    assert!(matches!(
        refused(&f.verifier, &forged).await,
        VerifyError::BadSignature
    ));

    // Changing the payload under a valid signature fails the same way.
    let (head, _) = signed.split_once('.').unwrap();
    let mut body = claims();
    body["role"] = "admin".into();
    let payload = URL_SAFE_NO_PAD.encode(body.to_string());
    let (_, signature) = token.rsplit_once('.').unwrap();
    let tampered = format!("{head}.{payload}.{signature}");
    assert!(matches!(
        refused(&f.verifier, &tampered).await,
        VerifyError::BadSignature
    ));
}

#[tokio::test]
async fn times_are_checked_with_leeway() {
    let f = fixture();
    let now = now();
    let expired = with_claims(&f, |c| c["exp"] = json!(now - 3600)).await;
    assert!(matches!(expired, Err(VerifyError::Expired)));
    assert!(
        with_claims(&f, |c| c["exp"] = json!(now - 30))
            .await
            .is_ok()
    );
    let early = with_claims(&f, |c| c["iat"] = json!(now + 3600)).await;
    assert!(matches!(early, Err(VerifyError::IssuedInFuture)));
    assert!(
        with_claims(&f, |c| c["iat"] = json!(now + 30))
            .await
            .is_ok()
    );
    let auth_time = with_claims(&f, |c| c["auth_time"] = json!(now + 3600)).await;
    assert!(matches!(auth_time, Err(VerifyError::IssuedInFuture)));
    let not_before = with_claims(&f, |c| c["nbf"] = json!(now + 3600)).await;
    assert!(matches!(not_before, Err(VerifyError::IssuedInFuture)));
    let no_exp = with_claims(&f, |c| drop(c.as_object_mut().unwrap().remove("exp"))).await;
    assert!(matches!(no_exp, Err(VerifyError::Malformed)));
}

#[tokio::test]
async fn issuer_audience_and_subject_must_match() {
    let f = fixture();
    let iss = with_claims(&f, |c| c["iss"] = "https://evil.example".into()).await;
    assert!(matches!(iss, Err(VerifyError::WrongIssuer)));
    let iss_prefix = with_claims(&f, |c| c["iss"] = format!("{}/", super::ISSUER).into()).await;
    assert!(matches!(iss_prefix, Err(VerifyError::WrongIssuer)));
    let aud = with_claims(&f, |c| c["aud"] = "another-service".into()).await;
    assert!(matches!(aud, Err(VerifyError::WrongAudience)));
    let aud_case = with_claims(&f, |c| c["aud"] = "CraftChain".into()).await;
    assert!(matches!(aud_case, Err(VerifyError::WrongAudience)));
    let empty = with_claims(&f, |c| c["sub"] = "".into()).await;
    assert!(matches!(empty, Err(VerifyError::InvalidSubject)));
    let long = with_claims(&f, |c| c["sub"] = "s".repeat(129).into()).await;
    assert!(matches!(long, Err(VerifyError::InvalidSubject)));
    assert!(
        with_claims(&f, |c| c["sub"] = "s".repeat(128).into())
            .await
            .is_ok()
    );
    let role = with_claims(&f, |c| c["role"] = "root".into()).await;
    assert!(matches!(role, Err(VerifyError::Malformed)));
}

#[tokio::test]
async fn garbage_and_oversized_tokens_are_malformed() {
    let f = fixture();
    let garbage = [
        "",
        "garbage",
        "Bearer abc",
        "a.b.c",
        "..",
        "...",
        "e30.e30.e30",
        "eyJhbGciOiJSUzI1NiJ9",
        "\u{0}\u{1}.\u{2}.\u{3}",
        "ééé.ééé.ééé",
    ];
    for token in garbage {
        let err = refused(&f.verifier, token).await;
        assert!(
            matches!(
                err,
                VerifyError::Malformed | VerifyError::UnsupportedAlgorithm
            ),
            "{token:?}: {err:?}"
        );
    }
    let mut body = claims();
    body["name"] = "x".repeat(9 * 1024).into();
    let big = f.key.sign(&body).unwrap();
    assert!(matches!(
        refused(&f.verifier, &big).await,
        VerifyError::Malformed
    ));
}
