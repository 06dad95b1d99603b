//! `POST /auth/refresh|logout|service-token`: rotating refresh tokens,
//! reuse detection, logout, and service-role tokens.

use common::identity::Role;
use common::tokens::ServiceTokenResponse;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, claims};

const CATALOG_SECRET: &str = "catalog-secret-0123456789";

#[tokio::test]
async fn refresh_returns_a_new_pair_and_the_old_refresh_token_then_fails() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Artisan).await;

    let response = app.refresh(&account.refresh_token).await;

    response.assert_status(StatusCode::OK);
    let next: auth::TokenPair = response.json();
    assert_ne!(next.refresh_token, account.refresh_token);
    assert_eq!(next.expires_in, 3600);
    let token = claims(&next.id_token);
    assert_eq!(token.sub, account.uid);
    assert_eq!(token.auth_time, claims(&account.id_token).auth_time);
    app.refresh(&account.refresh_token)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;
    let next: auth::TokenPair = app.refresh(&account.refresh_token).await.json();

    let reused = app.refresh(&account.refresh_token).await;

    reused.assert_problem(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    app.refresh(&next.refresh_token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

#[tokio::test]
async fn reuse_in_one_session_leaves_the_accounts_other_sessions_alone() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;
    let other: auth::TokenPair = app.login(&account.email, &account.password).await.json();
    app.refresh(&account.refresh_token)
        .await
        .assert_status(StatusCode::OK);
    app.refresh(&account.refresh_token)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);

    let response = app.refresh(&other.refresh_token).await;

    response.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn logout_returns_204_and_the_refresh_token_then_fails() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Artisan).await;

    let response = app
        .post_json(
            "/auth/logout",
            &json!({ "refresh_token": account.refresh_token }),
            None,
        )
        .await;

    response.assert_status(StatusCode::NO_CONTENT);
    app.refresh(&account.refresh_token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

#[tokio::test]
async fn logout_of_an_unknown_refresh_token_still_returns_204() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(
            "/auth/logout",
            &json!({ "refresh_token": "nothing-like-it" }),
            None,
        )
        .await;

    response.assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn refresh_returns_401_for_a_garbage_refresh_token() {
    let app = TestApp::spawn().await;
    app.signup(Role::Buyer).await;

    for garbage in ["", "garbage", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"] {
        let response = app.refresh(garbage).await;
        response.assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    }
}

#[tokio::test]
async fn service_token_with_the_right_secret_returns_a_service_role_token() {
    let app = TestApp::builder()
        .with_service_secret("catalog", CATALOG_SECRET)
        .spawn()
        .await;

    let response = app
        .post_json(
            "/auth/service-token",
            &json!({ "service": "catalog", "secret": CATALOG_SECRET }),
            None,
        )
        .await;

    response.assert_status(StatusCode::OK);
    let issued: ServiceTokenResponse = response.json();
    assert_eq!(issued.expires_in, 600);
    let token = claims(&issued.id_token);
    assert_eq!(token.role, Some(Role::Service));
    assert_eq!(token.sub, "service:catalog");
    assert_eq!(token.email, None);
}

#[tokio::test]
async fn service_token_returns_401_for_a_wrong_secret_or_an_unknown_service() {
    let app = TestApp::builder()
        .with_service_secret("catalog", CATALOG_SECRET)
        .spawn()
        .await;

    for (service, secret) in [
        ("catalog", "catalog-secret-012345678"),
        ("catalog", ""),
        ("orders", CATALOG_SECRET),
    ] {
        let response = app
            .post_json(
                "/auth/service-token",
                &json!({ "service": service, "secret": secret }),
                None,
            )
            .await;
        response.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn a_service_token_is_accepted_but_has_no_profile() {
    let app = TestApp::builder()
        .with_service_secret("catalog", CATALOG_SECRET)
        .spawn()
        .await;
    let issued: ServiceTokenResponse = app
        .post_json(
            "/auth/service-token",
            &json!({ "service": "catalog", "secret": CATALOG_SECRET }),
            None,
        )
        .await
        .json();

    let response = app.get("/auth/me", Some(&issued.id_token)).await;

    response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
}
