//! `POST /auth/signup`: accounts, their validation, roles, and the
//! `user.registered` event written with them.

use common::identity::Role;
use events::OutboxStatus;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{GOOD_PASSWORD, TestApp, claims, field_code, signup_body, unique_email};

#[tokio::test]
async fn signup_returns_201_with_a_token_pair_and_the_normalised_user() {
    let app = TestApp::spawn().await;
    let mut body = signup_body("  Meera.Devi@Example.IN ", "artisan");
    body["display_name"] = json!("  Meera Devi  ");

    let response = app.post_json("/auth/signup", &body, None).await;

    response.assert_status(StatusCode::CREATED);
    let created: auth::SignupResponse = response.json();
    assert_eq!(created.session.expires_in, 3600);
    assert!(!created.session.refresh_token.is_empty());
    assert_eq!(created.user.email, "meera.devi@example.in");
    assert_eq!(created.user.display_name, "Meera Devi");
    assert_eq!(created.user.role, Role::Artisan);
    assert_eq!(created.user.profile.region.as_deref(), Some("West Bengal"));
    assert_eq!(created.user.profile.languages, ["bn", "en"]);
    let token = claims(&created.session.id_token);
    assert_eq!(token.sub, created.user.id);
    assert_eq!(token.role, Some(Role::Artisan));
    assert_eq!(token.email.as_deref(), Some("meera.devi@example.in"));
}

#[tokio::test]
async fn signup_never_returns_the_password_or_its_hash() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(
            "/auth/signup",
            &signup_body(&unique_email("a"), "buyer"),
            None,
        )
        .await;

    response.assert_status(StatusCode::CREATED);
    let text = response.body.to_string();
    assert!(!text.contains("password"), "{text}");
    assert!(!text.contains("argon2"), "{text}");
    assert!(!text.contains(GOOD_PASSWORD), "{text}");
}

#[tokio::test]
async fn signup_returns_409_when_the_email_is_taken_in_another_case() {
    let app = TestApp::spawn().await;
    app.post_json(
        "/auth/signup",
        &signup_body("meera@example.in", "artisan"),
        None,
    )
    .await
    .assert_status(StatusCode::CREATED);

    let response = app
        .post_json(
            "/auth/signup",
            &signup_body("MEERA@Example.in", "buyer"),
            None,
        )
        .await;

    response.assert_problem(StatusCode::CONFLICT, "email_taken");
}

#[tokio::test]
async fn signup_returns_422_naming_an_invalid_email() {
    let app = TestApp::spawn().await;
    for bad in ["not-an-email", "a@b", "meera@@example.in", ""] {
        let response = app
            .post_json("/auth/signup", &signup_body(bad, "buyer"), None)
            .await;
        let problem = response.assert_invalid_fields(&["email"]);
        assert_eq!(field_code(&problem, "email"), "invalid", "{bad}");
    }
}

#[tokio::test]
async fn signup_returns_422_naming_a_weak_password_with_its_reason() {
    let app = TestApp::spawn().await;
    let cases = [
        ("short-1", "too_short"),
        ("aaaaaaaaaaaaaaaa", "too_weak"),
        ("Password123", "too_common"),
        ("qwertyuiop", "too_common"),
        ("priya.sharma-2026", "too_weak"),
        (&"x1y2z3w4v5".repeat(13), "too_long"),
    ];
    for (password, code) in cases {
        let mut body = signup_body("priya.sharma@example.in", "buyer");
        body["password"] = json!(password);
        let response = app.post_json("/auth/signup", &body, None).await;
        let problem = response.assert_invalid_fields(&["password"]);
        assert!(
            problem.errors.iter().any(|e| e.code == code),
            "{password}: expected {code}: {problem:?}"
        );
    }
}

#[tokio::test]
async fn signup_returns_422_when_the_display_name_is_blank() {
    let app = TestApp::spawn().await;
    for blank in ["", "   "] {
        let mut body = signup_body(&unique_email("a"), "artisan");
        body["display_name"] = json!(blank);
        let response = app.post_json("/auth/signup", &body, None).await;
        let problem = response.assert_invalid_fields(&["display_name"]);
        assert_eq!(field_code(&problem, "display_name"), "required");
    }
}

#[tokio::test]
async fn signup_returns_422_naming_an_unknown_or_repeated_language() {
    let app = TestApp::spawn().await;
    let mut body = signup_body(&unique_email("a"), "artisan");
    body["languages"] = json!(["hi", "xx", "hi"]);

    let response = app.post_json("/auth/signup", &body, None).await;

    let problem = response.assert_invalid_fields(&["languages[1]", "languages[2]"]);
    assert_eq!(field_code(&problem, "languages[1]"), "unknown_language");
    assert_eq!(field_code(&problem, "languages[2]"), "duplicate");
}

#[tokio::test]
async fn signup_returns_422_naming_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    let body = json!({
        "email": "nope",
        "password": "short",
        "display_name": "",
        "role": "buyer",
        "region": " ",
        "languages": ["klingon"],
    });

    let response = app.post_json("/auth/signup", &body, None).await;

    response.assert_invalid_fields(&[
        "email",
        "password",
        "display_name",
        "region",
        "languages[0]",
    ]);
}

#[tokio::test]
async fn signup_returns_422_naming_an_unknown_field() {
    let app = TestApp::spawn().await;
    let mut body = signup_body(&unique_email("a"), "buyer");
    body["is_admin"] = json!(true);

    let response = app.post_json("/auth/signup", &body, None).await;

    let problem = response.assert_invalid_fields(&["is_admin"]);
    assert_eq!(field_code(&problem, "is_admin"), "unknown_field");
}

#[tokio::test]
async fn signup_returns_422_naming_a_field_of_the_wrong_type() {
    let app = TestApp::spawn().await;
    for (field, value) in [
        ("display_name", json!(42)),
        ("languages", json!("bn")),
        ("role", json!("superuser")),
        ("password", json!(null)),
    ] {
        let mut body = signup_body(&unique_email("a"), "buyer");
        body[field] = value;
        let response = app.post_json("/auth/signup", &body, None).await;
        let problem = response.assert_invalid_fields(&[field]);
        assert_eq!(field_code(&problem, field), "invalid");
    }
}

#[tokio::test]
async fn signup_returns_422_naming_a_missing_field() {
    let app = TestApp::spawn().await;
    let mut body = signup_body(&unique_email("a"), "buyer");
    body.as_object_mut().unwrap().remove("role");

    let response = app.post_json("/auth/signup", &body, None).await;

    let problem = response.assert_invalid_fields(&["role"]);
    assert_eq!(field_code(&problem, "role"), "required");
}

#[tokio::test]
async fn signup_returns_400_for_malformed_json() {
    let app = TestApp::spawn().await;
    for bad in [r#"{"email": "#, "email=meera@example.in", ""] {
        let response = app
            .post_raw("/auth/signup", bad, Some("application/json"), None)
            .await;
        response.assert_problem(StatusCode::BAD_REQUEST, "malformed_json");
    }
}

#[tokio::test]
async fn signup_returns_415_without_a_json_content_type() {
    let app = TestApp::spawn().await;
    let body = r#"{"email":"meera@example.in","password":"kantha-stitch-9-blue","display_name":"Meera","role":"artisan"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let response = app.post_raw("/auth/signup", body, content_type, None).await;
        response.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
}

#[tokio::test]
async fn signup_returns_422_forbidden_role_when_an_anonymous_caller_asks_for_admin() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(
            "/auth/signup",
            &signup_body(&unique_email("a"), "admin"),
            None,
        )
        .await;

    let problem = response.assert_invalid_fields(&["role"]);
    assert_eq!(field_code(&problem, "role"), "forbidden_role");
}

#[tokio::test]
async fn signup_returns_422_forbidden_role_when_a_non_admin_asks_for_admin() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;

    let response = app
        .post_json(
            "/auth/signup",
            &signup_body(&unique_email("a"), "admin"),
            Some(&artisan.id_token),
        )
        .await;

    let problem = response.assert_invalid_fields(&["role"]);
    assert_eq!(field_code(&problem, "role"), "forbidden_role");
}

#[tokio::test]
async fn signup_creates_an_admin_when_an_admin_asks() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;

    let response = app
        .post_json(
            "/auth/signup",
            &signup_body(&unique_email("ops"), "admin"),
            Some(&admin),
        )
        .await;

    response.assert_status(StatusCode::CREATED);
    let created: auth::SignupResponse = response.json();
    assert_eq!(created.user.role, Role::Admin);
    assert_eq!(claims(&created.session.id_token).role, Some(Role::Admin));
}

#[tokio::test]
async fn signup_returns_422_forbidden_role_for_the_service_role_even_for_an_admin() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;

    for token in [None, Some(admin.as_str())] {
        let response = app
            .post_json(
                "/auth/signup",
                &signup_body(&unique_email("svc"), "service"),
                token,
            )
            .await;
        let problem = response.assert_invalid_fields(&["role"]);
        assert_eq!(field_code(&problem, "role"), "forbidden_role");
    }
}

#[tokio::test]
async fn signup_returns_401_when_the_bearer_token_is_invalid() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(
            "/auth/signup",
            &signup_body(&unique_email("a"), "buyer"),
            Some("not.a.jwt"),
        )
        .await;

    response.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_rejected_signup_writes_nothing_so_the_same_email_signs_up_afterwards() {
    let app = TestApp::spawn().await;
    let mut rejected = signup_body("meera@example.in", "artisan");
    rejected["languages"] = json!(["xx"]);
    app.post_json("/auth/signup", &rejected, None)
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.login("meera@example.in", GOOD_PASSWORD)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");

    let response = app
        .post_json(
            "/auth/signup",
            &signup_body("meera@example.in", "artisan"),
            None,
        )
        .await;

    response.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn signup_leaves_exactly_one_pending_user_registered_event() {
    let app = TestApp::spawn().await;

    let account = app.signup(Role::Artisan).await;

    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let event = &outbox[0];
    assert_eq!(event.event_type, "user.registered");
    assert_eq!(event.subject, account.uid);
    assert_eq!(event.status, OutboxStatus::Pending);
    assert_eq!(event.attempts, 0);
}

#[tokio::test]
async fn a_rejected_signup_leaves_no_event() {
    let app = TestApp::spawn().await;
    let mut invalid = signup_body("meera@example.in", "buyer");
    invalid["password"] = json!("short");
    app.post_json("/auth/signup", &invalid, None)
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn a_duplicate_signup_leaves_no_second_event() {
    let app = TestApp::spawn().await;
    app.post_json(
        "/auth/signup",
        &signup_body("meera@example.in", "artisan"),
        None,
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.post_json(
        "/auth/signup",
        &signup_body("Meera@example.in", "artisan"),
        None,
    )
    .await
    .assert_status(StatusCode::CONFLICT);

    assert_eq!(app.outbox().await.len(), 1);
}
