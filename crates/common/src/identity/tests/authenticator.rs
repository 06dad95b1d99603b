//! Authenticating bearer tokens: our users, our services, Google OIDC.

use std::sync::Arc;

use serde_json::json;

use super::{claims, now, static_verifier};
use crate::identity::{
    Authenticator, GOOGLE_OIDC_ISSUER, JwkSet, OidcServiceAccounts, Role, SigningKey, StaticKeys,
    Verifier, VerifierConfig, VerifyError,
};

const RECEIVER: &str = "https://orders-abc123-uc.a.run.app";
const PUSHER: &str = "pubsub-push@craftchain.iam.gserviceaccount.com";

struct Fixture {
    ours: SigningKey,
    google: SigningKey,
    authenticator: Authenticator,
}

fn fixture() -> Fixture {
    let ours = SigningKey::generate().unwrap();
    let google = SigningKey::generate().unwrap();
    let google_keys = StaticKeys::from_jwk_set(&JwkSet::from_signing_keys([&google]));
    let google_verifier = Verifier::new(
        VerifierConfig::new(GOOGLE_OIDC_ISSUER, RECEIVER),
        Arc::new(google_keys),
    );
    let oidc = OidcServiceAccounts::new(google_verifier, vec![PUSHER.to_uppercase()]);
    let authenticator = Authenticator::new(static_verifier(&[&ours])).with_google_oidc(oidc);
    Fixture {
        ours,
        google,
        authenticator,
    }
}

/// What Google puts in an OIDC token for a push subscription.
fn google_claims(email: &str, verified: bool) -> serde_json::Value {
    let now = now();
    json!({
        "iss": GOOGLE_OIDC_ISSUER,
        "aud": RECEIVER,
        "azp": "1234567890",
        "sub": "1234567890",
        "email": email,
        "email_verified": verified,
        "iat": now - 5,
        "exp": now + 3600,
    })
}

#[tokio::test]
async fn user_and_service_tokens_become_callers_with_their_role() {
    let f = fixture();
    let caller = f
        .authenticator
        .authenticate(&f.ours.sign(&claims()).unwrap())
        .await
        .unwrap();
    assert_eq!((caller.uid.as_str(), caller.role), ("user-1", Role::Buyer));

    let mut service = claims();
    service["sub"] = "svc-orders".into();
    service["role"] = "service".into();
    let caller = f
        .authenticator
        .authenticate(&f.ours.sign(&service).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (caller.uid.as_str(), caller.role),
        ("svc-orders", Role::Service)
    );
}

#[tokio::test]
async fn our_tokens_without_a_role_are_refused() {
    let f = fixture();
    let mut body = claims();
    body.as_object_mut().unwrap().remove("role");
    let err = f
        .authenticator
        .authenticate(&f.ours.sign(&body).unwrap())
        .await;
    assert!(matches!(err, Err(VerifyError::MissingRole)));
}

#[tokio::test]
async fn allowed_google_service_accounts_become_service_callers() {
    let f = fixture();
    let token = f.google.sign(&google_claims(PUSHER, true)).unwrap();
    let caller = f.authenticator.authenticate(&token).await.unwrap();
    assert_eq!(caller.uid, PUSHER);
    assert_eq!(caller.email.as_deref(), Some(PUSHER));
    assert_eq!(caller.role, Role::Service);
}

#[tokio::test]
async fn unverified_or_unlisted_google_accounts_are_refused() {
    let f = fixture();
    let unverified = f.google.sign(&google_claims(PUSHER, false)).unwrap();
    let stranger = f
        .google
        .sign(&google_claims("evil@other.iam.gserviceaccount.com", true))
        .unwrap();
    let mut no_email = google_claims(PUSHER, true);
    no_email.as_object_mut().unwrap().remove("email");
    let no_email = f.google.sign(&no_email).unwrap();
    for token in [unverified, stranger, no_email] {
        let err = f.authenticator.authenticate(&token).await.unwrap_err();
        assert!(matches!(err, VerifyError::AccountNotAllowed), "{err:?}");
        assert!(!err.is_unavailable());
    }
    let mut other_audience = google_claims(PUSHER, true);
    other_audience["aud"] = "https://payments.a.run.app".into();
    let token = f.google.sign(&other_audience).unwrap();
    let err = f.authenticator.authenticate(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::WrongAudience));
}

#[tokio::test]
async fn issuers_cannot_borrow_each_others_keys() {
    let f = fixture();
    // Google's issuer signed with our key: the OIDC verifier doesn't know it.
    let token = f.ours.sign(&google_claims(PUSHER, true)).unwrap();
    let err = f.authenticator.authenticate(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKid), "{err:?}");
    // Our issuer signed with Google's key: the primary verifier doesn't know it.
    let token = f.google.sign(&claims()).unwrap();
    let err = f.authenticator.authenticate(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKid), "{err:?}");
}

#[tokio::test]
async fn without_oidc_google_tokens_are_refused() {
    let f = fixture();
    let authenticator = Authenticator::new(static_verifier(&[&f.ours]));
    let token = f.google.sign(&google_claims(PUSHER, true)).unwrap();
    assert!(authenticator.authenticate(&token).await.is_err());
}

#[tokio::test]
async fn a_revoked_users_older_tokens_are_refused_and_newer_ones_pass() {
    let f = fixture();
    let token = f.ours.sign(&claims()).unwrap();
    assert!(f.authenticator.authenticate(&token).await.is_ok());
    // user-1's tokens issued before now are void (the token's iat is now - 10).
    f.authenticator.revocations().record("user-1", now(), now());
    let err = f.authenticator.authenticate(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Revoked), "{err:?}");
    assert!(!err.is_unavailable());
    // A token issued since passes.
    let mut fresh = claims();
    fresh["iat"] = json!(now());
    let fresh = f.ours.sign(&fresh).unwrap();
    assert!(f.authenticator.authenticate(&fresh).await.is_ok());
    // Another user's tokens are untouched.
    let mut other = claims();
    other["sub"] = json!("user-2");
    let other = f.ours.sign(&other).unwrap();
    assert!(f.authenticator.authenticate(&other).await.is_ok());
}

#[tokio::test]
async fn a_service_starting_up_loads_every_revocation_in_force_page_by_page() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let auth = MockServer::start().await;
    let t = now();
    Mock::given(method("GET"))
        .and(path("/auth/revocations"))
        .and(query_param("cursor", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"user_id": "user-2", "valid_after": t}],
            "next_cursor": null
        })))
        .mount(&auth)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/revocations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [
                {"user_id": "user-1", "valid_after": t},
                // A time far ahead is not believed (it would lock the user out).
                {"user_id": "user-3", "valid_after": t + 86_400}
            ],
            "next_cursor": "page2"
        })))
        .up_to_n_times(1)
        .mount(&auth)
        .await;
    let client = crate::ServiceClient::new("auth", auth.uri().parse().unwrap(), None);
    let f = fixture();

    let loaded = f.authenticator.revocations().load(&client).await.unwrap();

    assert_eq!(loaded, 2);
    let revocations = f.authenticator.revocations();
    assert!(revocations.is_revoked("user-1", t - 1));
    assert!(revocations.is_revoked("user-2", t - 1));
    assert!(!revocations.is_revoked("user-3", t + 10));
    let token = f.ours.sign(&claims()).unwrap();
    let err = f.authenticator.authenticate(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Revoked), "{err:?}");
}
