//! `POST /auth/login`: passwords, indistinguishable failures and the
//! per-account throttle.

use common::identity::Role;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, claims};

#[tokio::test]
async fn login_returns_200_with_a_token_pair_for_the_right_password() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;

    let response = app
        .login(&account.email.to_uppercase(), &account.password)
        .await;

    response.assert_status(StatusCode::OK);
    let session: auth::TokenPair = response.json();
    assert_eq!(session.expires_in, 3600);
    assert_ne!(session.refresh_token, account.refresh_token);
    let token = claims(&session.id_token);
    assert_eq!(token.sub, account.uid);
    assert_eq!(token.role, Some(Role::Buyer));
}

#[tokio::test]
async fn login_answers_a_wrong_password_and_an_unknown_email_identically() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Artisan).await;

    let wrong_password = app.login(&account.email, "not-the-password-9").await;
    let unknown_email = app.login("nobody@example.in", &account.password).await;
    let impossible_email = app.login("not-an-email", &account.password).await;

    let expected = wrong_password.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    for other in [&unknown_email, &impossible_email] {
        let problem = other.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_eq!(problem.detail, expected.detail);
        assert_eq!(problem.title, expected.title);
        assert_eq!(problem.type_uri, expected.type_uri);
        assert_eq!(
            other.header("www-authenticate"),
            wrong_password.header("www-authenticate")
        );
    }
}

#[tokio::test]
async fn login_returns_429_with_retry_after_once_the_threshold_is_reached_even_with_the_right_password()
 {
    let app = TestApp::builder().lockout_threshold(3).spawn().await;
    let account = app.signup(Role::Buyer).await;
    for _ in 0..3 {
        app.login(&account.email, "wrong-password-42")
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }

    let response = app.login(&account.email, &account.password).await;

    response.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = response
        .header("retry-after")
        .expect("a 429 says when to retry")
        .parse()
        .expect("Retry-After is in seconds");
    assert!(retry_after >= 1, "{retry_after}");
}

#[tokio::test]
async fn a_locked_account_does_not_lock_another_account() {
    let app = TestApp::builder().lockout_threshold(3).spawn().await;
    let victim = app.signup(Role::Artisan).await;
    let other = app.signup(Role::Artisan).await;
    for _ in 0..3 {
        app.login(&victim.email, "wrong-password-42").await;
    }
    app.login(&victim.email, &victim.password)
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);

    let response = app.login(&other.email, &other.password).await;

    response.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_successful_login_forgets_earlier_failures() {
    let app = TestApp::builder().lockout_threshold(3).spawn().await;
    let account = app.signup(Role::Buyer).await;
    for _ in 0..2 {
        app.login(&account.email, "wrong-password-42").await;
    }
    app.login(&account.email, &account.password)
        .await
        .assert_status(StatusCode::OK);
    for _ in 0..2 {
        app.login(&account.email, "wrong-password-42")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }

    let response = app.login(&account.email, &account.password).await;

    response.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn login_returns_422_naming_a_missing_password() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json("/auth/login", &json!({ "email": "meera@example.in" }), None)
        .await;

    response.assert_invalid_fields(&["password"]);
}
