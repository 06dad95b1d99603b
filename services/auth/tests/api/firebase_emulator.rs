//! The Firebase client and the auth service in Firebase mode against
//! Google's own Firebase Auth emulator (firebase-tools, installed by
//! `./dev test`): what the stand-in of `fake_firebase` assumes about
//! Firebase's answers is checked here against Google's implementation.
//! The emulator's ID tokens are unsigned, so their claims are read, not
//! verified; everything that needs a verified token is in `firebase`.

use auth::config::FirebaseSettings;
use auth::domain::firebase::FirebaseAuth;
use common::identity::Role;
use http::StatusCode;
use secrecy::SecretString;
use serde_json::json;
use testkit::FirebaseAuthEmulator;

use crate::helpers::{GOOD_PASSWORD, TestApp, claims, signup_body, unique_email};

/// Wait for the next second: Firebase revokes in whole seconds.
async fn next_second() {
    let into = chrono::Utc::now().timestamp_subsec_millis();
    tokio::time::sleep(std::time::Duration::from_millis(u64::from(
        1010 - into.min(1000),
    )))
    .await;
}

/// The emulator's record of the account `uid` (the Admin API's
/// `accounts:lookup`, as its `owner`).
async fn lookup(emulator: &FirebaseAuthEmulator, uid: &str) -> serde_json::Value {
    let url = format!(
        "http://{}/identitytoolkit.googleapis.com/v1/projects/{}/accounts:lookup",
        emulator.host(),
        FirebaseAuthEmulator::PROJECT
    );
    let answer: serde_json::Value = reqwest::Client::new()
        .post(url)
        .bearer_auth("owner")
        .json(&json!({"localId": [uid]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["users"][0].clone()
}

#[tokio::test]
async fn the_client_is_understood_by_googles_emulator() {
    let Some(emulator) = FirebaseAuthEmulator::shared().await else {
        return;
    };
    let settings = FirebaseSettings {
        api_key: SecretString::from("demo-api-key"),
        project_id: FirebaseAuthEmulator::PROJECT.to_owned(),
        identity_toolkit_url: "http://127.0.0.1:9/".parse().unwrap(),
        secure_token_url: "http://127.0.0.1:9/".parse().unwrap(),
        emulator_host: Some(emulator.host().to_owned()),
        timeout_secs: 10,
    };
    let metadata = "http://127.0.0.1:9/".parse().unwrap();
    let firebase = FirebaseAuth::new(&settings, &metadata).unwrap();
    let email = unique_email("emulated");
    let password = SecretString::from(GOOD_PASSWORD);

    let uid = firebase.create_account(&email, &password).await.unwrap();
    let again = firebase
        .create_account(&email, &password)
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("EMAIL_EXISTS"));
    let weak = firebase
        .create_account(&unique_email("weak"), &SecretString::from("abc"))
        .await
        .unwrap_err();
    assert_eq!(weak.code(), Some("WEAK_PASSWORD"));

    // The role claim reaches the tokens minted after it is set.
    let first = firebase.sign_in(&email, &password).await.unwrap();
    assert_eq!(first.uid, uid);
    assert_eq!(claims(&first.pair.id_token).role, None);
    firebase.set_role(&uid, Role::Artisan).await.unwrap();
    assert_eq!(
        lookup(emulator, &uid).await["customAttributes"],
        "{\"role\":\"artisan\"}"
    );
    let refreshed = firebase.refresh(&first.pair.refresh_token).await.unwrap();
    assert_eq!(refreshed.uid, uid);
    assert_eq!(claims(&refreshed.pair.id_token).role, Some(Role::Artisan));
    assert_eq!(refreshed.pair.expires_in, 3600);
    let signed_in = firebase.sign_in(&email, &password).await.unwrap();
    assert_eq!(signed_in.uid, uid);
    assert_eq!(claims(&signed_in.pair.id_token).role, Some(Role::Artisan));
    // A token without the claim is mended: the claim set again, refreshed.
    firebase.set_role(&uid, Role::Buyer).await.unwrap();
    let mended = firebase
        .with_role(signed_in.clone(), Role::Artisan)
        .await
        .unwrap();
    assert_eq!(claims(&mended.pair.id_token).role, Some(Role::Artisan));

    let wrong = firebase
        .sign_in(&email, &SecretString::from("not-the-password-9"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong.code(),
            Some("INVALID_PASSWORD" | "INVALID_LOGIN_CREDENTIALS")
        ),
        "{wrong}"
    );
    let junk = firebase.refresh("not-a-refresh-token").await.unwrap_err();
    assert!(
        matches!(junk.code(), Some("INVALID_REFRESH_TOKEN")),
        "{junk}"
    );

    firebase.set_disabled(&uid, true).await.unwrap();
    let disabled = firebase.sign_in(&email, &password).await.unwrap_err();
    assert_eq!(disabled.code(), Some("USER_DISABLED"));
    let disabled = firebase
        .refresh(&signed_in.pair.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(disabled.code(), Some("USER_DISABLED"));
    firebase.set_disabled(&uid, false).await.unwrap();

    // The emulator records `validSince` but, unlike Firebase, does not
    // refuse older refresh tokens for it (its refresh tokens are not
    // checked against the account): the stand-in of `firebase` shows the
    // service's side of that; here the value is read back.
    next_second().await;
    let before = chrono::Utc::now().timestamp();
    firebase.revoke_sessions(&uid).await.unwrap();
    let valid_since = lookup(emulator, &uid).await["validSince"]
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .expect("validSince is recorded");
    assert!(valid_since >= before, "{valid_since} < {before}");

    let new_password = SecretString::from("chikan-thread-7-rose");
    firebase.set_password(&uid, &new_password).await.unwrap();
    firebase.sign_in(&email, &new_password).await.unwrap();
    assert!(firebase.sign_in(&email, &password).await.is_err());

    firebase.delete(&uid).await.unwrap();
    let gone = firebase.sign_in(&email, &new_password).await.unwrap_err();
    assert!(
        matches!(
            gone.code(),
            Some("EMAIL_NOT_FOUND" | "INVALID_LOGIN_CREDENTIALS")
        ),
        "{gone}"
    );
}

#[tokio::test]
async fn the_service_signs_up_and_in_through_googles_emulator() {
    let Some(emulator) = FirebaseAuthEmulator::shared().await else {
        return;
    };
    let app = TestApp::builder()
        .with_firebase_emulator(emulator.host())
        .spawn()
        .await;
    let email = unique_email("emulated");
    let response = app
        .post_json("/auth/signup", &signup_body(&email, "artisan"), None)
        .await;
    response.assert_status(StatusCode::CREATED);
    let signed_up: auth::SignupResponse = response.json();
    let token = claims(&signed_up.session.id_token);
    assert_eq!(
        token.sub, signed_up.user.id,
        "the profile has Firebase's uid"
    );
    assert_eq!(token.role, Some(Role::Artisan));
    assert_eq!(
        token.iss,
        format!(
            "https://securetoken.google.com/{}",
            FirebaseAuthEmulator::PROJECT
        )
    );
    app.post_json("/auth/signup", &signup_body(&email, "buyer"), None)
        .await
        .assert_problem(StatusCode::CONFLICT, "email_taken");

    app.login(&email, "not-the-password-9")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let login = app.login(&email, GOOD_PASSWORD).await;
    login.assert_status(StatusCode::OK);
    let pair: auth::TokenPair = login.json();
    assert_eq!(claims(&pair.id_token).role, Some(Role::Artisan));

    app.refresh(&pair.refresh_token)
        .await
        .assert_status(StatusCode::OK);
    app.post_json(
        "/auth/logout",
        &json!({"refresh_token": pair.refresh_token}),
        None,
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    app.refresh(&pair.refresh_token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}
