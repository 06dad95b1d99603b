//! `POST /auth/login`: passwords, indistinguishable failures and the
//! throttle: per (account, client address) and per account, decaying,
//! counted atomically, never keeping the owner out.

use common::identity::Role;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, TestResponse, claims};

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
    let app = TestApp::builder().lockout_threshold(5).spawn().await;
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

/// A login from client address `ip` (as the gateway names it; a load
/// balancer's `X-Forwarded-For` entry is not believed).
async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> TestResponse {
    let body = json!({ "email": email, "password": password });
    let builder = testkit::http::request(http::Method::POST, "/auth/login", None)
        .header("x-craftchain-client-address", ip)
        .header("x-forwarded-for", format!("{ip}, 10.8.0.2"));
    app.send(testkit::http::json(builder, &body)).await
}

#[tokio::test]
async fn another_clients_failures_never_keep_the_owner_out() {
    let app = TestApp::builder().lockout_threshold(3).spawn().await;
    let owner = app.signup(Role::Artisan).await;
    // An attacker guesses from one address until it is slowed down…
    let mut refused = 0;
    for _ in 0..10 {
        let r = login_from(&app, "203.0.113.7", &owner.email, "guess-password-1").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(
        refused >= 6,
        "the attacker was slowed down only {refused} times"
    );
    // …and from many more, once each.
    for i in 0..10 {
        login_from(
            &app,
            &format!("198.51.100.{i}"),
            &owner.email,
            "guess-password-2",
        )
        .await;
    }
    // The owner, from an address that has not been failing, gets in.
    login_from(&app, "192.0.2.55", &owner.email, &owner.password)
        .await
        .assert_status(StatusCode::OK);
    // A client that has been failing waits out the account's delay too.
    login_from(&app, "198.51.100.3", &owner.email, &owner.password)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test]
async fn parallel_guesses_cannot_slip_past_the_count() {
    let app = TestApp::builder().lockout_threshold(3).spawn().await;
    let victim = app.signup(Role::Buyer).await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        let email = victim.email.clone();
        async move {
            login_from(app, "203.0.113.9", &email, &format!("guess-password-{i}"))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, refused),
        (3, 17),
        "only the threshold's worth of passwords may be checked: {statuses:?}"
    );
}

#[tokio::test]
async fn failures_decay_so_a_delay_cannot_be_held() {
    // Two failures reach the threshold if they are at most a second apart
    // (the first has decayed to 0.5 by then, still rounding to one), and
    // the next attempt is refused within a second of the second.
    let app = TestApp::builder()
        .lockout_threshold(2)
        .lockout_half_life(1)
        .spawn()
        .await;
    let account = app.signup(Role::Buyer).await;
    let attempt = |password: &str| {
        let password = password.to_owned();
        let (app, email) = (&app, &account.email);
        async move { login_from(app, "203.0.113.10", email, &password).await }
    };
    for _ in 0..2 {
        attempt("wrong-password-42")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    attempt(&account.password)
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    // Three half-lives later the two failures count as a quarter of one, so
    // one more failure stays under the threshold and sets no delay: the
    // right password is taken at once. Undecayed, three failures would
    // make it wait two seconds.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    attempt("wrong-password-42")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    attempt(&account.password)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn the_owner_is_told_once_when_the_account_is_attacked() {
    let app = TestApp::builder()
        .lockout_threshold(3)
        .attack_alert(5)
        .spawn()
        .await;
    let owner = app.signup(Role::Artisan).await;
    for i in 0..12 {
        login_from(
            &app,
            &format!("198.51.100.{i}"),
            &owner.email,
            "guess-password-3",
        )
        .await;
    }
    let alerts: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.login_attacked")
        .collect();
    assert_eq!(
        alerts.len(),
        1,
        "one alert an hour, however long the attack"
    );
    let alert = alerts[0].decode::<events::v1::UserLoginAttacked>().unwrap();
    assert_eq!(alert.user_id, owner.uid);
    assert!(alert.failures >= 5, "{alert:?}");
    assert_eq!(alert.last_client_address, "198.51.100.4");
    // An address that has no account is never announced.
    for i in 0..12 {
        login_from(
            &app,
            &format!("198.51.100.{i}"),
            "nobody@example.in",
            "guess-password-3",
        )
        .await;
    }
    assert_eq!(
        app.outbox_types()
            .await
            .iter()
            .filter(|t| *t == "user.login_attacked")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_password_no_account_can_have_fails_like_a_wrong_one() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;
    let response = app.login(&account.email, &"p".repeat(600)).await;
    response.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // …and is not counted against the account: the owner still gets in.
    app.login(&account.email, &account.password)
        .await
        .assert_status(StatusCode::OK);
}
