//! `GET|PATCH /auth/me`, `GET /auth/users/{id}` and
//! `PUT /auth/users/{id}/role`: bearer authentication, ETags, profile
//! validation and role changes.

use common::identity::Role;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, WALLET, claims, field_code, tamper};

#[tokio::test]
async fn me_returns_401_with_www_authenticate_bearer_without_a_token() {
    let app = TestApp::spawn().await;

    let response = app.get("/auth/me", None).await;

    response.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn me_returns_401_for_a_tampered_token() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Artisan).await;

    let response = app.get("/auth/me", Some(&tamper(&account.id_token))).await;

    response.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn me_returns_the_callers_account_with_an_etag() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Artisan).await;

    let response = app.get("/auth/me", Some(&account.id_token)).await;

    response.assert_status(StatusCode::OK);
    let etag = response.header("etag").expect("GET /auth/me has an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let me: auth::Me = response.json();
    assert_eq!(me.id, account.uid);
    assert_eq!(me.email, account.email);
}

#[tokio::test]
async fn patch_me_returns_412_when_if_match_is_stale_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Artisan).await;
    let read = app.get("/auth/me", Some(&account.id_token)).await;
    let stale = read.header("etag").unwrap().to_owned();
    app.patch_json(
        "/auth/me",
        &json!({ "craft": "Kantha" }),
        Some(&account.id_token),
        Some(&stale),
    )
    .await
    .assert_status(StatusCode::OK);

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "craft": "Dokra", "display_name": "Someone Else" }),
            Some(&account.id_token),
            Some(&stale),
        )
        .await;

    response.assert_problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    let me: auth::Me = app.get("/auth/me", Some(&account.id_token)).await.json();
    assert_eq!(me.profile.craft.as_deref(), Some("Kantha"));
    assert_eq!(me.display_name, "Meera Devi");
}

#[tokio::test]
async fn patch_me_returns_412_when_if_match_is_not_a_version() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "region": "Goa" }),
            Some(&account.id_token),
            Some("\"abc\""),
        )
        .await;

    response.assert_problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
}

#[tokio::test]
async fn patch_me_with_the_current_if_match_returns_200_and_a_new_etag() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Artisan).await;
    let read = app.get("/auth/me", Some(&account.id_token)).await;
    let etag = read.header("etag").unwrap().to_owned();

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "display_name": " Meera D. ", "craft": "Kantha", "skill_level": 4, "languages": ["bn"] }),
            Some(&account.id_token),
            Some(&etag),
        )
        .await;

    response.assert_status(StatusCode::OK);
    let new_etag = response.header("etag").expect("PATCH answers the new ETag");
    assert_ne!(new_etag, etag);
    let me: auth::Me = response.json();
    assert_eq!(me.display_name, "Meera D.");
    assert_eq!(me.profile.craft.as_deref(), Some("Kantha"));
    assert_eq!(me.profile.skill_level, Some(4));
    assert_eq!(me.profile.languages, ["bn"]);
    let reread = app.get("/auth/me", Some(&account.id_token)).await;
    assert_eq!(reread.header("etag"), Some(new_etag));
}

#[tokio::test]
async fn patch_me_accepts_a_checksummed_wallet_address_for_an_artisan() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "wallet_address": WALLET }),
            Some(&artisan.id_token),
            None,
        )
        .await;

    response.assert_status(StatusCode::OK);
    let me: auth::Me = response.json();
    assert_eq!(
        me.profile.wallet_address.map(|w| w.to_string()).as_deref(),
        Some(WALLET)
    );
}

#[tokio::test]
async fn patch_me_returns_422_naming_wallet_address_when_it_is_not_checksummed() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;

    for bad in [
        WALLET.to_lowercase(),
        WALLET.to_uppercase().replace("0X", "0x"),
        "0x1234".to_owned(),
    ] {
        let response = app
            .patch_json(
                "/auth/me",
                &json!({ "wallet_address": bad }),
                Some(&artisan.id_token),
                None,
            )
            .await;
        let problem = response.assert_invalid_fields(&["wallet_address"]);
        assert_eq!(field_code(&problem, "wallet_address"), "invalid", "{bad}");
    }
}

#[tokio::test]
async fn patch_me_returns_422_when_a_buyer_sets_a_wallet_address() {
    let app = TestApp::spawn().await;
    let buyer = app.signup(Role::Buyer).await;

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "wallet_address": WALLET }),
            Some(&buyer.id_token),
            None,
        )
        .await;

    let problem = response.assert_invalid_fields(&["wallet_address"]);
    assert_eq!(field_code(&problem, "wallet_address"), "artisans_only");
    let me: auth::Me = app.get("/auth/me", Some(&buyer.id_token)).await.json();
    assert_eq!(me.profile.wallet_address, None);
}

#[tokio::test]
async fn patch_me_returns_422_naming_skill_level_when_it_is_6() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "skill_level": 6 }),
            Some(&artisan.id_token),
            None,
        )
        .await;

    let problem = response.assert_invalid_fields(&["skill_level"]);
    assert_eq!(field_code(&problem, "skill_level"), "out_of_range");
}

#[tokio::test]
async fn a_rejected_patch_changes_nothing() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;
    let before = app.get("/auth/me", Some(&artisan.id_token)).await;

    app.patch_json(
        "/auth/me",
        &json!({ "display_name": "New Name", "skill_level": 0 }),
        Some(&artisan.id_token),
        None,
    )
    .await
    .assert_invalid_fields(&["skill_level"]);

    let after = app.get("/auth/me", Some(&artisan.id_token)).await;
    assert_eq!(after.header("etag"), before.header("etag"));
    assert_eq!(after.body, before.body);
}

#[tokio::test]
async fn patch_me_with_null_clears_the_region_and_absent_fields_stay() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "region": null }),
            Some(&account.id_token),
            None,
        )
        .await;

    response.assert_status(StatusCode::OK);
    let me: auth::Me = response.json();
    assert_eq!(me.profile.region, None);
    assert_eq!(me.profile.languages, ["bn", "en"]);
    assert_eq!(me.display_name, "Meera Devi");
}

#[tokio::test]
async fn patch_me_returns_422_naming_an_unknown_field() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;

    let response = app
        .patch_json(
            "/auth/me",
            &json!({ "role": "admin" }),
            Some(&account.id_token),
            None,
        )
        .await;

    let problem = response.assert_invalid_fields(&["role"]);
    assert_eq!(field_code(&problem, "role"), "unknown_field");
}

#[tokio::test]
async fn get_user_returns_the_public_profile_without_the_email() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;
    let buyer = app.signup(Role::Buyer).await;

    let response = app
        .get(
            &format!("/auth/users/{}", artisan.uid),
            Some(&buyer.id_token),
        )
        .await;

    response.assert_status(StatusCode::OK);
    assert!(
        !response.body.to_string().contains(&artisan.email),
        "{}",
        response.body
    );
    assert!(response.body.get("email").is_none());
    let profile: auth::PublicProfile = response.json();
    assert_eq!(profile.id, artisan.uid);
    assert_eq!(profile.display_name, "Meera Devi");
    assert_eq!(profile.role, Role::Artisan);
}

#[tokio::test]
async fn get_user_returns_404_for_an_unknown_id_and_401_without_a_token() {
    let app = TestApp::spawn().await;
    let account = app.signup(Role::Buyer).await;

    app.get("/auth/users/nobody", Some(&account.id_token))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.get(&format!("/auth/users/{}", account.uid), None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn set_role_returns_403_for_a_non_admin() {
    let app = TestApp::spawn().await;
    let artisan = app.signup(Role::Artisan).await;

    let response = app
        .put_json(
            &format!("/auth/users/{}/role", artisan.uid),
            &json!({ "role": "admin" }),
            Some(&artisan.id_token),
        )
        .await;

    response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let me: auth::Me = app.get("/auth/me", Some(&artisan.id_token)).await.json();
    assert_eq!(me.role, Role::Artisan);
}

#[tokio::test]
async fn set_role_by_an_admin_returns_200_and_shows_in_the_users_next_refresh() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let buyer = app.signup(Role::Buyer).await;

    let response = app
        .put_json(
            &format!("/auth/users/{}/role", buyer.uid),
            &json!({ "role": "artisan" }),
            Some(&admin),
        )
        .await;

    response.assert_status(StatusCode::OK);
    assert_eq!(response.json::<auth::PublicProfile>().role, Role::Artisan);
    assert_eq!(claims(&buyer.id_token).role, Some(Role::Buyer));
    let refreshed: auth::TokenPair = app.refresh(&buyer.refresh_token).await.json();
    assert_eq!(claims(&refreshed.id_token).role, Some(Role::Artisan));
    app.patch_json(
        "/auth/me",
        &json!({ "wallet_address": WALLET }),
        Some(&refreshed.id_token),
        None,
    )
    .await
    .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn set_role_refuses_the_service_role_and_an_admin_demoting_themselves() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let buyer = app.signup(Role::Buyer).await;
    let admin_uid = claims(&admin).sub;

    let service = app
        .put_json(
            &format!("/auth/users/{}/role", buyer.uid),
            &json!({ "role": "service" }),
            Some(&admin),
        )
        .await;
    let demote = app
        .put_json(
            &format!("/auth/users/{admin_uid}/role"),
            &json!({ "role": "buyer" }),
            Some(&admin),
        )
        .await;

    let problem = service.assert_invalid_fields(&["role"]);
    assert_eq!(field_code(&problem, "role"), "forbidden_role");
    demote.assert_problem(StatusCode::CONFLICT, "last_admin_guard");
}

#[tokio::test]
async fn the_directory_finds_accounts_by_role_region_language_and_craft_for_admins_only() {
    let app = TestApp::builder().with_admin().spawn().await;
    let admin = app.admin_token().await;
    let mut made = Vec::new();
    for (role, region, languages, craft) in [
        (
            Role::Artisan,
            "Odisha",
            json!(["or", "hi"]),
            Some("pattachitra"),
        ),
        (Role::Artisan, "Bihar", json!(["hi"]), Some("madhubani")),
        (Role::Buyer, "Odisha", json!(["en"]), None),
    ] {
        let account = app.signup(role).await;
        let mut patch = json!({ "region": region, "languages": languages });
        if let Some(craft) = craft {
            patch["craft"] = json!(craft);
        }
        app.patch_json("/auth/me", &patch, Some(&account.id_token), None)
            .await
            .assert_status(StatusCode::OK);
        made.push(account);
    }
    let ids = |path: &str| {
        let app = &app;
        let admin = admin.clone();
        let path = path.to_owned();
        async move {
            let r = app.get(&path, Some(&admin)).await;
            r.assert_status(StatusCode::OK);
            let page: serde_json::Value = r.json();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids("/auth/users?roles=artisan&regions=Odisha").await,
        [made[0].uid.clone()]
    );
    assert_eq!(
        ids("/auth/users?roles=artisan,buyer&regions=Odisha,Bihar&languages=hi").await,
        [made[0].uid.clone(), made[1].uid.clone()]
    );
    assert_eq!(
        ids("/auth/users?crafts=madhubani").await,
        [made[1].uid.clone()]
    );
    // Pages follow the cursor to the end (the admin is an account too).
    let r = app.get("/auth/users?limit=2", Some(&admin)).await;
    let page: serde_json::Value = r.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["items"][0]["email"].as_str().unwrap().contains('@'));
    let next = page["next_cursor"].as_str().unwrap();
    let r = app
        .get(&format!("/auth/users?limit=2&cursor={next}"), Some(&admin))
        .await;
    assert_eq!(
        r.json::<serde_json::Value>()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Others may not read it; too many values are refused.
    app.get("/auth/users", Some(&made[0].id_token))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let many = (0..31)
        .map(|i| format!("r{i}"))
        .collect::<Vec<_>>()
        .join(",");
    app.get(&format!("/auth/users?regions={many}"), Some(&admin))
        .await
        .assert_invalid_fields(&["regions"]);
    // At most 30 alternatives in one query; a cursor of another list is 422.
    let regions = (0..16)
        .map(|i| format!("r{i}"))
        .collect::<Vec<_>>()
        .join(",");
    app.get(
        &format!("/auth/users?roles=artisan,buyer&regions={regions}"),
        Some(&admin),
    )
    .await
    .assert_invalid_fields(&["regions"]);
    app.get(
        &format!("/auth/users?cursor={}", "A".repeat(40)),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}
