//! `GET /auth/.well-known/jwks.json` and `POST /auth/keys/rotate`: the
//! published keys, and tokens on both sides of a rotation.

use common::identity::Role;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, kid};

#[tokio::test]
async fn jwks_lists_the_active_key_as_an_rs256_rsa_key() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;

    let response = app.get("/auth/.well-known/jwks.json", None).await;

    response.assert_status(StatusCode::OK);
    assert!(
        response
            .header("cache-control")
            .is_some_and(|v| v.contains("max-age")),
        "{:?}",
        response.headers
    );
    let jwks = app.jwks().await;
    assert_eq!(jwks.keys.len(), 1);
    let key = &jwks.keys[0];
    assert_eq!(key.kty, "RSA");
    assert_eq!(key.alg.as_deref(), Some("RS256"));
    assert_eq!(key.kid.as_deref(), Some(kid(&account.id_token).as_str()));
    assert!(key.n.is_some() && key.e.is_some());
}

#[tokio::test]
async fn an_immediate_rotation_publishes_old_and_new_kids_and_new_tokens_carry_the_new_kid() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let old_kid = kid(&admin);

    let response = app
        .post_json(
            "/auth/keys/rotate",
            &json!({"immediate": true}),
            Some(&admin),
        )
        .await;

    response.assert_status(StatusCode::OK);
    let new_kid = response.body["kid"]
        .as_str()
        .expect("rotate names the new kid")
        .to_owned();
    assert_ne!(new_kid, old_kid);
    let mut published: Vec<String> = app
        .jwks()
        .await
        .keys
        .into_iter()
        .filter_map(|k| k.kid)
        .collect();
    published.sort();
    let mut expected = vec![old_kid, new_kid.clone()];
    expected.sort();
    assert_eq!(published, expected);
    let account = app.signup(Role::Artisan).await;
    assert_eq!(kid(&account.id_token), new_kid);
}

#[tokio::test]
async fn a_scheduled_rotation_publishes_the_new_key_before_it_signs() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let old_kid = kid(&admin);

    let rotated = app
        .post_json("/auth/keys/rotate", &json!({}), Some(&admin))
        .await;

    rotated.assert_status(StatusCode::OK);
    let new_kid = rotated.body["kid"]
        .as_str()
        .expect("the new kid")
        .to_owned();
    let signs_from: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(rotated.body["signs_from"].clone()).expect("signs_from");
    assert!(signs_from > chrono::Utc::now() + chrono::Duration::seconds(300));
    let published: Vec<String> = app
        .jwks()
        .await
        .keys
        .into_iter()
        .filter_map(|k| k.kid)
        .collect();
    assert!(
        published.contains(&new_kid) && published.contains(&old_kid),
        "{published:?}"
    );
    let account = app.signup(Role::Artisan).await;
    assert_eq!(
        kid(&account.id_token),
        old_kid,
        "the new key signed before every verifier could know it"
    );
}

#[tokio::test]
async fn a_token_signed_before_rotation_still_works_on_me() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let account = app.signup(Role::Artisan).await;
    app.post_json("/auth/keys/rotate", &json!({}), Some(&admin))
        .await
        .assert_status(StatusCode::OK);

    let response = app.get("/auth/me", Some(&account.id_token)).await;

    response.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_token_signed_right_after_rotation_works_on_me() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let rotated = app
        .post_json(
            "/auth/keys/rotate",
            &json!({"immediate": true}),
            Some(&admin),
        )
        .await;
    rotated.assert_status(StatusCode::OK);
    let account = app.signup(Role::Buyer).await;
    assert_eq!(
        Some(kid(&account.id_token).as_str()),
        rotated.body["kid"].as_str()
    );

    let response = app.get("/auth/me", Some(&account.id_token)).await;

    response.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn rotate_returns_403_for_a_non_admin_and_401_without_a_token() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;

    app.post_json("/auth/keys/rotate", &json!({}), Some(&artisan.id_token))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.post_json("/auth/keys/rotate", &json!({}), None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");

    assert_eq!(app.jwks().await.keys.len(), 1);
}
