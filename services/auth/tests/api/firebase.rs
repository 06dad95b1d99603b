//! Firebase Auth as the identity provider (`CRAFTCHAIN_AUTH_FIREBASE__*`),
//! against the stand-in of `fake_firebase`: sign-up, login, refresh and
//! logout go to Firebase in its documented wire format, the role is a
//! custom claim set through the Admin API as the service account, the
//! tokens Firebase signs are what this service (like every other) verifies,
//! and an outage of Firebase is a 503 that counts against nobody.

use auth::domain::sessions::{EndedSession, MAX_ENDED_SESSIONS};
use auth::domain::users::User;
use common::identity::Role;
use http::StatusCode;
use serde_json::{Value, json};

use crate::fake_firebase::{ACCESS_TOKEN, API_KEY, FakeFirebase, PROJECT};
use crate::helpers::{
    ADMIN_EMAIL, GOOD_PASSWORD, TestApp, TestResponse, claims, signup_body, unique_email,
};

async fn app(firebase: &FakeFirebase) -> TestApp {
    TestApp::builder()
        .with_firebase(&firebase.uri())
        .spawn()
        .await
}

/// Sign up through the service; answers (uid, ID token, refresh token).
async fn sign_up(app: &TestApp, email: &str, role: &str) -> (String, String, String) {
    let response = app
        .post_json("/auth/signup", &signup_body(email, role), None)
        .await;
    response.assert_status(StatusCode::CREATED);
    let body: auth::SignupResponse = response.json();
    (
        body.user.id,
        body.session.id_token,
        body.session.refresh_token,
    )
}

/// The token pair of a 200 login or refresh.
#[track_caller]
fn signed_in(response: TestResponse) -> auth::TokenPair {
    response.assert_status(StatusCode::OK);
    response.json()
}

/// Wait for the next second: Firebase revokes the sessions begun before
/// `validSince`, in whole seconds, so one begun in the same second as a
/// revocation survives it.
async fn next_second() {
    let into = chrono::Utc::now().timestamp_subsec_millis();
    tokio::time::sleep(std::time::Duration::from_millis(u64::from(
        1010 - into.min(1000),
    )))
    .await;
}

/// The bodies of the Admin API calls of `method`, each checked to be made
/// as the service account (its access token, not the API key).
async fn admin_bodies(firebase: &FakeFirebase, method: &str) -> Vec<Value> {
    let bearer = format!("Bearer {ACCESS_TOKEN}");
    let calls = firebase
        .requests(&format!("/v1/projects/{PROJECT}/{method}"))
        .await;
    for call in &calls {
        let authorization = call.headers.get("authorization").map(|v| v.as_bytes());
        assert_eq!(authorization, Some(bearer.as_bytes()), "{method}");
        assert!(query(call, "key").is_none(), "{method} with the API key");
    }
    calls.iter().map(json_body).collect()
}

fn json_body(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

fn query(request: &wiremock::Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn sign_up_makes_the_firebase_account_sets_its_role_claim_and_answers_firebase_tokens() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    let (uid, id_token, refresh_token) = sign_up(&app, &email, "artisan").await;

    let (firebase_uid, role, disabled) = firebase.account(&email).expect("made in firebase");
    assert_eq!(uid, firebase_uid, "the profile is keyed by Firebase's uid");
    assert_eq!(role, Some(Role::Artisan));
    assert!(!disabled);
    let claims = claims(&id_token);
    assert_eq!(
        claims.iss,
        format!("https://securetoken.google.com/{PROJECT}")
    );
    assert_eq!(
        claims.role,
        Some(Role::Artisan),
        "signed in after the claim"
    );

    // The token Firebase signed is verified here like at any service.
    let me = app.get("/auth/me", Some(&id_token)).await;
    me.assert_status(StatusCode::OK);
    assert_eq!(me.json::<Value>()["id"], uid.as_str());

    // The documented requests: the account made through the Admin API
    // (no per-address sign-up quota), its claim set, then a sign-in.
    assert_eq!(
        admin_bodies(&firebase, "accounts").await,
        [json!({"email": email, "password": GOOD_PASSWORD})]
    );
    assert_eq!(
        admin_bodies(&firebase, "accounts:update").await,
        [json!({"localId": uid, "customAttributes": "{\"role\":\"artisan\"}"})]
    );
    let sign_ins = firebase.requests("/v1/accounts:signInWithPassword").await;
    assert_eq!(sign_ins.len(), 1);
    assert_eq!(query(&sign_ins[0], "key").as_deref(), Some(API_KEY));
    assert_eq!(
        json_body(&sign_ins[0]),
        json!({"email": email, "password": GOOD_PASSWORD, "returnSecureToken": true})
    );

    // A refresh is Secure Token's exchange, a form with the API key.
    app.refresh(&refresh_token)
        .await
        .assert_status(StatusCode::OK);
    let exchanges = firebase.requests("/v1/token").await;
    assert_eq!(exchanges.len(), 1);
    assert_eq!(query(&exchanges[0], "key").as_deref(), Some(API_KEY));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&exchanges[0].body)
        .into_owned()
        .collect();
    assert_eq!(
        form,
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh_token.clone()),
        ]
    );

    // No password is kept here.
    let stored = app
        .store()
        .collection::<User>()
        .get(&uid)
        .await
        .unwrap()
        .expect("the profile is stored");
    assert_eq!(stored.value.password_hash, "");
    assert_eq!(app.outbox_types().await, vec!["user.registered"]);
}

#[tokio::test]
async fn login_refresh_and_logout_go_through_firebase() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    let (uid, _, _) = sign_up(&app, &email, "buyer").await;

    app.login(&email, "not-the-password-at-all")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.login(&unique_email("nobody"), GOOD_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");

    let pair = signed_in(app.login(&email, GOOD_PASSWORD).await);
    assert_eq!(claims(&pair.id_token).sub, uid);
    assert_eq!(claims(&pair.id_token).role, Some(Role::Buyer));
    assert_eq!(pair.expires_in, 3600);

    let refreshed = app.refresh(&pair.refresh_token).await;
    refreshed.assert_status(StatusCode::OK);
    assert_eq!(
        claims(&refreshed.json::<auth::TokenPair>().id_token).sub,
        uid
    );

    // Logging out of one session ends that one, not the others.
    let other = app
        .login(&email, GOOD_PASSWORD)
        .await
        .json::<auth::TokenPair>();
    let logout = json!({ "refresh_token": pair.refresh_token });
    app.post_json("/auth/logout", &logout, None)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.refresh(&pair.refresh_token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    app.refresh(&other.refresh_token)
        .await
        .assert_status(StatusCode::OK);

    // A token Firebase does not know ends nothing and stores nothing.
    let junk = json!({ "refresh_token": "AMf-made-up" });
    app.post_json("/auth/logout", &junk, None)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.refresh("AMf-made-up")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    let ended = app
        .store()
        .collection::<EndedSession>()
        .query(&store::Query::new().limit(10))
        .await
        .unwrap()
        .0;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].value.uid, uid);
}

#[tokio::test]
async fn an_address_firebase_has_is_409_and_one_account_stays() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    sign_up(&app, &email, "buyer").await;
    app.post_json("/auth/signup", &signup_body(&email, "artisan"), None)
        .await
        .assert_problem(StatusCode::CONFLICT, "email_taken");
    assert_eq!(
        firebase.account(&email).map(|a| a.1),
        Some(Some(Role::Buyer))
    );
    assert_eq!(app.outbox_types().await, vec!["user.registered"]);
}

#[tokio::test]
async fn an_admins_role_change_disabling_and_sign_out_reach_firebase() {
    let firebase = FakeFirebase::start().await;
    let app = TestApp::builder()
        .with_admin()
        .with_firebase(&firebase.uri())
        .spawn()
        .await;
    // The bootstrap admin was made in Firebase with the admin claim.
    assert_eq!(
        firebase.account(ADMIN_EMAIL).map(|a| a.1),
        Some(Some(Role::Admin))
    );
    let admin = app.admin_token().await;
    assert_eq!(claims(&admin).role, Some(Role::Admin));

    let email = unique_email("firebase");
    let (uid, _, refresh_token) = sign_up(&app, &email, "buyer").await;
    app.put_json(
        &format!("/auth/users/{uid}/role"),
        &json!({"role": "artisan"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(
        firebase.account(&email).map(|a| a.1),
        Some(Some(Role::Artisan))
    );
    // A refresh picks up the new role.
    let pair = signed_in(app.refresh(&refresh_token).await);
    assert_eq!(claims(&pair.id_token).role, Some(Role::Artisan));

    // Signing out everywhere ends every Firebase session of the account.
    next_second().await;
    app.post_json("/auth/logout-all", &json!({}), Some(&pair.id_token))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.refresh(&pair.refresh_token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    let fresh = app.login(&email, GOOD_PASSWORD).await;
    fresh.assert_status(StatusCode::OK);
    let fresh: auth::TokenPair = fresh.json();

    app.put_json(
        &format!("/auth/users/{uid}/status"),
        &json!({"disabled": true}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(firebase.account(&email).map(|a| a.2), Some(true));
    app.login(&email, GOOD_PASSWORD)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.refresh(&fresh.refresh_token)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_password_change_goes_to_firebase_and_ends_the_other_sessions() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    let (_, id_token, refresh_token) = sign_up(&app, &email, "artisan").await;
    let new_password = "chikan-thread-7-rose";
    next_second().await;
    let changed = app
        .post_json(
            "/auth/password",
            &json!({"current_password": GOOD_PASSWORD, "new_password": new_password}),
            Some(&id_token),
        )
        .await;
    changed.assert_status(StatusCode::OK);
    let pair: auth::TokenPair = changed.json();
    app.get("/auth/me", Some(&pair.id_token))
        .await
        .assert_status(StatusCode::OK);
    app.refresh(&refresh_token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    app.login(&email, GOOD_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.login(&email, new_password)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn firebase_down_is_503_with_retry_after_and_counts_no_failed_login() {
    let firebase = FakeFirebase::start().await;
    // One failure would already delay the next attempt.
    let app = TestApp::builder()
        .lockout_threshold(1)
        .attack_alert(5)
        .with_firebase(&firebase.uri())
        .spawn()
        .await;
    let email = unique_email("firebase");
    sign_up(&app, &email, "buyer").await;

    firebase.set_down(true);
    for _ in 0..3 {
        let down = app.login(&email, GOOD_PASSWORD).await;
        down.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert!(down.header("retry-after").is_some());
    }
    app.post_json(
        "/auth/signup",
        &signup_body(&unique_email("firebase"), "buyer"),
        None,
    )
    .await
    .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    firebase.set_down(false);
    app.login(&email, GOOD_PASSWORD)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_sign_up_whose_role_claim_fails_is_undone_in_firebase() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    firebase.set_update_failing(true);
    app.post_json("/auth/signup", &signup_body(&email, "artisan"), None)
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(
        firebase.account(&email).is_none(),
        "the half-made account is deleted"
    );
    assert!(app.outbox_types().await.is_empty(), "no profile, no event");
    firebase.set_update_failing(false);
    sign_up(&app, &email, "artisan").await;
}

#[tokio::test]
async fn a_role_change_firebase_misses_changes_nothing_and_can_be_asked_again() {
    let firebase = FakeFirebase::start().await;
    let app = TestApp::builder()
        .with_admin()
        .with_firebase(&firebase.uri())
        .spawn()
        .await;
    let admin = app.admin_token().await;
    let email = unique_email("firebase");
    let (uid, id_token, refresh_token) = sign_up(&app, &email, "artisan").await;
    let path = format!("/auth/users/{uid}/role");
    let buyer = json!({"role": "buyer"});
    let demote = || app.put_json(&path, &buyer, Some(&admin));

    firebase.set_update_failing(true);
    demote()
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    // Nothing changed: the profile, the claim and the tokens stand.
    let me = app.get("/auth/me", Some(&id_token)).await;
    me.assert_status(StatusCode::OK);
    assert_eq!(me.json::<Value>()["role"], "artisan");
    assert_eq!(
        firebase.account(&email).map(|a| a.1),
        Some(Some(Role::Artisan))
    );

    firebase.set_update_failing(false);
    demote().await.assert_status(StatusCode::OK);
    assert_eq!(
        firebase.account(&email).map(|a| a.1),
        Some(Some(Role::Buyer))
    );
    let pair = signed_in(app.refresh(&refresh_token).await);
    assert_eq!(claims(&pair.id_token).role, Some(Role::Buyer));
}

#[tokio::test]
async fn a_claim_that_differs_from_the_profile_is_mended_at_refresh_and_login() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    let (uid, _, refresh_token) = sign_up(&app, &email, "buyer").await;
    // Someone (a console, a half-done change) set another claim.
    firebase.set_role(&uid, Some(Role::Admin));

    let pair = signed_in(app.refresh(&refresh_token).await);
    assert_eq!(claims(&pair.id_token).role, Some(Role::Buyer));
    assert_eq!(
        firebase.account(&email).map(|a| a.1),
        Some(Some(Role::Buyer))
    );

    firebase.set_role(&uid, Some(Role::Admin));
    let pair = signed_in(app.login(&email, GOOD_PASSWORD).await);
    assert_eq!(claims(&pair.id_token).role, Some(Role::Buyer));
}

#[tokio::test]
async fn an_address_firebase_holds_without_a_profile_is_taken_over_by_its_password() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    // A Firebase account no profile here holds (a sign-up whose undoing
    // failed too).
    firebase.add_account(&email, GOOD_PASSWORD);

    let mut wrong = signup_body(&email, "artisan");
    wrong["password"] = json!("another-kantha-9-red");
    app.post_json("/auth/signup", &wrong, None)
        .await
        .assert_problem(StatusCode::CONFLICT, "email_taken");
    let (uid, id_token, _) = sign_up(&app, &email, "artisan").await;
    assert_eq!(Some(uid), firebase.account(&email).map(|a| a.0));
    assert_eq!(claims(&id_token).role, Some(Role::Artisan));
    app.get("/auth/me", Some(&id_token))
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn the_bootstrap_admin_is_made_once_and_never_promoted_again() {
    let firebase = FakeFirebase::start().await;
    let app = TestApp::builder()
        .with_admin()
        .with_firebase(&firebase.uri())
        .spawn()
        .await;
    let (admin_uid, _, _) = firebase.account(ADMIN_EMAIL).expect("made in firebase");
    let creates = format!("/v1/projects/{PROJECT}/accounts");
    assert_eq!(firebase.requests(&creates).await.len(), 1);
    // Its claim changed meanwhile (the profile here is what counts).
    firebase.set_role(&admin_uid, Some(Role::Buyer));

    let app = app.restart().await;
    assert_eq!(firebase.requests(&creates).await.len(), 1, "not made again");
    assert_eq!(
        firebase.account(ADMIN_EMAIL).map(|a| a.1),
        Some(Some(Role::Buyer)),
        "no claim sent at start"
    );
    // Firebase out of reach at start does not stop the service.
    firebase.set_down(true);
    let app = app.restart().await;
    app.get("/health", None).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn logging_out_cannot_fill_the_store_and_a_sign_out_everywhere_forgets_ended_sessions() {
    let firebase = FakeFirebase::start().await;
    let app = app(&firebase).await;
    let email = unique_email("firebase");
    let (uid, _, _) = sign_up(&app, &email, "buyer").await;
    let on_record = || async {
        app.store()
            .collection::<EndedSession>()
            .query_up_to(
                &store::Query::new().eq("uid", uid.as_str()),
                4 * MAX_ENDED_SESSIONS,
            )
            .await
            .unwrap()
            .len()
    };
    let log_out = |pair: auth::TokenPair| {
        let body = json!({ "refresh_token": pair.refresh_token });
        let app = &app;
        async move {
            app.post_json("/auth/logout", &body, None)
                .await
                .assert_status(StatusCode::NO_CONTENT);
        }
    };
    let log_in = || async { signed_in(app.login(&email, GOOD_PASSWORD).await) };

    // Another device stays signed in while sessions are logged out of, up
    // to the most on record.
    let kept = log_in().await;
    for _ in 0..MAX_ENDED_SESSIONS {
        log_out(log_in().await).await;
    }
    assert_eq!(on_record().await, MAX_ENDED_SESSIONS);
    signed_in(app.refresh(&kept.refresh_token).await);
    let revocations = || async {
        let updates = admin_bodies(&firebase, "accounts:update").await;
        updates
            .iter()
            .filter(|u| u["validSince"].is_string())
            .count()
    };
    assert_eq!(revocations().await, 0);

    // One more logout signs the account out everywhere and forgets the
    // records of earlier seconds; its own, perhaps of the same second as
    // the sign-out (which would not end a session begun then), is kept.
    next_second().await;
    let last = log_in().await;
    log_out(last.clone()).await;
    assert!(on_record().await <= 1);
    assert_eq!(revocations().await, 1, "signed out everywhere in Firebase");
    for pair in [&kept, &last] {
        app.refresh(&pair.refresh_token)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    }

    // Signing out everywhere forgets those ended before it, too.
    let pair = log_in().await;
    let before = on_record().await;
    log_out(log_in().await).await;
    assert_eq!(on_record().await, before + 1);
    next_second().await;
    app.post_json("/auth/logout-all", &json!({}), Some(&pair.id_token))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(on_record().await, 0);
}
