//! Revocation: disabling a user, changing their role, signing out
//! everywhere and changing the password void their ID tokens at once here
//! (and, by `user.tokens_revoked`, at every service), and their sessions
//! too unless only the role changed.

use common::identity::Role;
use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{GOOD_PASSWORD, TestApp, claims};

/// The reason of every `user.tokens_revoked` published for `uid`.
async fn revocations_of(app: &TestApp, uid: &str) -> Vec<String> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.tokens_revoked")
        .map(|e| e.decode::<events::v1::UserTokensRevoked>().unwrap())
        .filter(|e| e.user_id == uid)
        .inspect(|e| assert!(e.valid_after > 0))
        .map(|e| e.reason)
        .collect()
}

/// Wait until the next whole second, so a token issued now is newer than a
/// revocation made before (tokens carry seconds).
async fn next_second() {
    let now = chrono::Utc::now();
    let wait = 1_000 - i64::from(now.timestamp_subsec_millis()) + 20;
    tokio::time::sleep(std::time::Duration::from_millis(wait.unsigned_abs())).await;
}

#[tokio::test]
async fn signing_out_everywhere_voids_every_token_and_session_of_the_caller_only() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;
    let other = app.signup(Role::Buyer).await;
    next_second().await;
    let second: auth::TokenPair = app.login(&account.email, &account.password).await.json();
    app.get("/auth/me", Some(&account.id_token))
        .await
        .assert_status(StatusCode::OK);
    next_second().await;

    app.post_json("/auth/logout-all", &json!({}), Some(&second.id_token))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    for token in [&account.id_token, &second.id_token] {
        app.get("/auth/me", Some(token))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    for refresh in [&account.refresh_token, &second.refresh_token] {
        app.refresh(refresh)
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    app.get("/auth/me", Some(&other.id_token))
        .await
        .assert_status(StatusCode::OK);
    // A new sign-in works.
    let fresh: auth::TokenPair = app.login(&account.email, &account.password).await.json();
    app.get("/auth/me", Some(&fresh.id_token))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(
        revocations_of(&app, &account.uid).await,
        ["signed_out_everywhere"]
    );
}

#[tokio::test]
async fn a_role_change_voids_the_old_tokens_and_the_next_refresh_carries_the_new_role() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let account = app.signup(Role::Buyer).await;
    next_second().await;

    app.put_json(
        &format!("/auth/users/{}/role", account.uid),
        &json!({ "role": "artisan" }),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);

    app.get("/auth/me", Some(&account.id_token))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    let next: auth::TokenPair = app.refresh(&account.refresh_token).await.json();
    assert_eq!(claims(&next.id_token).role, Some(Role::Artisan));
    app.get("/auth/me", Some(&next.id_token))
        .await
        .assert_status(StatusCode::OK);
    // The same role again changes nothing and revokes nothing; nor does an
    // admin setting their own role again.
    app.put_json(
        &format!("/auth/users/{}/role", account.uid),
        &json!({ "role": "artisan" }),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    app.get("/auth/me", Some(&next.id_token))
        .await
        .assert_status(StatusCode::OK);
    let me: Value = app.get("/auth/me", Some(&admin)).await.json();
    app.put_json(
        &format!("/auth/users/{}/role", me["id"].as_str().unwrap()),
        &json!({ "role": "admin" }),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    app.get("/auth/me", Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(revocations_of(&app, &account.uid).await, ["role_changed"]);
}

#[tokio::test]
async fn disabling_an_account_voids_its_tokens_sessions_and_sign_in_until_enabled() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let account = app.signup(Role::Artisan).await;
    let status = format!("/auth/users/{}/status", account.uid);
    next_second().await;

    app.put_json(
        &status,
        &json!({ "disabled": true }),
        Some(&account.id_token),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
    app.put_json(&status, &json!({ "disabled": true }), Some(&admin))
        .await
        .assert_status(StatusCode::OK);

    app.get("/auth/me", Some(&account.id_token))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.refresh(&account.refresh_token)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.login(&account.email, &account.password)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    app.put_json(&status, &json!({ "disabled": false }), Some(&admin))
        .await
        .assert_status(StatusCode::OK);
    app.login(&account.email, &account.password)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(revocations_of(&app, &account.uid).await, ["disabled"]);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_voids_the_other_sessions() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;
    next_second().await;
    let new_password = "ajrakh-block-print-7";

    app.post_json(
        "/auth/password",
        &json!({ "current_password": "not-my-password-1", "new_password": new_password }),
        Some(&account.id_token),
    )
    .await
    .assert_invalid_fields(&["current_password"]);
    app.post_json(
        "/auth/password",
        &json!({ "current_password": GOOD_PASSWORD, "new_password": "short" }),
        Some(&account.id_token),
    )
    .await
    .assert_invalid_fields(&["new_password"]);
    let changed = app
        .post_json(
            "/auth/password",
            &json!({ "current_password": GOOD_PASSWORD, "new_password": new_password }),
            Some(&account.id_token),
        )
        .await;
    changed.assert_status(StatusCode::OK);
    let pair: auth::TokenPair = changed.json();

    app.get("/auth/me", Some(&account.id_token))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.refresh(&account.refresh_token)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.get("/auth/me", Some(&pair.id_token))
        .await
        .assert_status(StatusCode::OK);
    app.refresh(&pair.refresh_token)
        .await
        .assert_status(StatusCode::OK);
    app.login(&account.email, GOOD_PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login(&account.email, new_password)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(
        revocations_of(&app, &account.uid).await,
        ["password_changed"]
    );
}

#[tokio::test]
async fn revocations_in_force_are_listed_to_services_for_those_starting_up() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let account = app.signup(Role::Buyer).await;
    app.post_json("/auth/logout-all", &json!({}), Some(&account.id_token))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let listed = app.get("/auth/revocations", Some(&admin)).await;
    listed.assert_status(StatusCode::OK);
    let page: common::Page<common::identity::RevocationTime> = listed.json();
    let mine: Vec<_> = page
        .items
        .iter()
        .filter(|r| r.user_id == account.uid)
        .collect();
    assert_eq!(mine.len(), 1, "{:?}", page.items);
    assert!(mine[0].valid_after <= chrono::Utc::now().timestamp());
    // Not for users.
    let other = app.signup(Role::Buyer).await;
    app.get("/auth/revocations", Some(&other.id_token))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}
