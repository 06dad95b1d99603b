//! `/products` and `/products/{id}`: creating a product (who may, what is
//! refused, how it is normalised) and reading it with its ETag.

use http::StatusCode;
use product::domain::products::{Pending, ProductStatus, ProductView};
use serde_json::{Value, json};

use crate::helpers::{ARTISAN, OTHER_ARTISAN, TestApp, field_code, product_body};

#[tokio::test]
async fn create_by_an_artisan_returns_201_with_an_etag_owned_by_the_caller_with_pending_analysis() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json("/products", &product_body(json!({})), Some(&app.artisan()))
        .await;

    response.assert_status(StatusCode::CREATED);
    assert!(
        response.header("etag").is_some_and(|e| e.starts_with('"')),
        "{:?}",
        response.headers
    );
    let created: ProductView = response.json();
    assert_eq!(created.artisan_id, ARTISAN);
    assert_eq!(created.status, ProductStatus::Active);
    assert_eq!(created.ai.status, Pending::Pending);
    assert_eq!(created.suggested_price.status, Pending::Pending);
    assert_eq!(response.body["ai"]["status"], "pending");
    assert_eq!(response.body["suggested_price"]["status"], "pending");
    assert_eq!(
        created.materials,
        ["silk", "cotton thread"],
        "materials are lowercased"
    );
    assert_eq!(created.price.amount, 249_900);
}

#[tokio::test]
async fn create_refuses_an_artisan_id_in_the_body_as_an_unknown_field() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(
            "/products",
            &product_body(json!({"artisan_id": OTHER_ARTISAN})),
            Some(&app.artisan()),
        )
        .await;

    let problem = response.assert_invalid_fields(&["artisan_id"]);
    assert_eq!(field_code(&problem, "artisan_id"), "unknown_field");
}

#[tokio::test]
async fn create_by_a_buyer_is_403() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json("/products", &product_body(json!({})), Some(&app.buyer()))
        .await;

    response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn create_without_a_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json("/products", &product_body(json!({})), None)
        .await;

    response.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn create_trims_text_and_lowercases_and_dedups_materials() {
    let app = TestApp::spawn().await;

    let created = app
        .create_product(
            &app.artisan(),
            json!({"title": "  Kantha stole  ", "materials": ["Silk", "Cotton", "SILK", " silk ", "cotton"]}),
        )
        .await;

    assert_eq!(created.title, "Kantha stole");
    assert_eq!(created.materials, ["silk", "cotton"]);
}

#[tokio::test]
async fn create_names_each_invalid_field() {
    let app = TestApp::spawn().await;
    let many_materials: Vec<String> = (0..21).map(|i| format!("material {i}")).collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"price": {"amount": -100, "currency": "INR"}}),
            "price.amount",
            "out_of_range",
        ),
        (
            json!({"price": {"amount": 0, "currency": "INR"}}),
            "price.amount",
            "out_of_range",
        ),
        (
            json!({"price": {"amount": 1_000_000_001_i64, "currency": "INR"}}),
            "price.amount",
            "out_of_range",
        ),
        (
            json!({"price": {"amount": 1000, "currency": "USD"}}),
            "price.currency",
            "unsupported",
        ),
        (json!({"title": "   "}), "title", "required"),
        (
            json!({"category": "spaceships"}),
            "category",
            "unknown_category",
        ),
        (
            json!({"description": {"fr": "Une étole brodée à la main."}}),
            "description.fr",
            "unknown_language",
        ),
        (json!({"description": {}}), "description", "required"),
        (
            json!({"materials": many_materials}),
            "materials",
            "too_many",
        ),
    ];

    for (overrides, field, code) in cases {
        let response = app
            .post_json(
                "/products",
                &product_body(overrides.clone()),
                Some(&app.artisan()),
            )
            .await;

        let problem = response.assert_invalid_fields(&[field]);
        assert_eq!(field_code(&problem, field), code, "for {overrides}");
    }
    assert!(
        app.list("").await.items.is_empty(),
        "nothing invalid was saved"
    );
}

#[tokio::test]
async fn create_names_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;

    let body = product_body(
        json!({"title": "", "category": "spaceships", "price": {"amount": 0, "currency": "INR"}}),
    );
    let response = app
        .post_json("/products", &body, Some(&app.artisan()))
        .await;

    response.assert_invalid_fields(&["title", "category", "price.amount"]);
}

#[tokio::test]
async fn create_refuses_unknown_media_and_media_of_another_artisan() {
    let app = TestApp::spawn().await;
    app.media.add("img-mine", ARTISAN);
    app.media.add("img-ravis", OTHER_ARTISAN);

    let unknown = app
        .post_json(
            "/products",
            &product_body(json!({"media_ids": ["img-nope"]})),
            Some(&app.artisan()),
        )
        .await;
    let foreign = app
        .post_json(
            "/products",
            &product_body(json!({"media_ids": ["img-mine", "img-ravis"]})),
            Some(&app.artisan()),
        )
        .await;
    let own = app
        .post_json(
            "/products",
            &product_body(json!({"media_ids": ["img-mine"]})),
            Some(&app.artisan()),
        )
        .await;

    let problem = unknown.assert_invalid_fields(&["media_ids[0]"]);
    assert_eq!(field_code(&problem, "media_ids[0]"), "not_found");
    let problem = foreign.assert_invalid_fields(&["media_ids[1]"]);
    assert_eq!(field_code(&problem, "media_ids[1]"), "not_owner");
    own.assert_status(StatusCode::CREATED);
    assert_eq!(own.json::<ProductView>().media_ids, ["img-mine"]);
}

#[tokio::test]
async fn get_returns_the_product_with_its_etag_and_304_when_if_none_match_matches() {
    let app = TestApp::spawn().await;
    let created = app
        .post_json("/products", &product_body(json!({})), Some(&app.artisan()))
        .await;
    let id = created.json::<ProductView>().id;

    let read = app.product(&id).await;
    let not_modified = app
        .get_with(
            &format!("/products/{id}"),
            &[("if-none-match", &read.etag())],
        )
        .await;

    read.assert_status(StatusCode::OK);
    assert_eq!(read.etag(), created.etag());
    assert_eq!(
        read.json::<ProductView>().title,
        "Kantha stitched silk stole"
    );
    not_modified.assert_status(StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.etag(), read.etag());
    assert!(not_modified.body.is_null());
}

#[tokio::test]
async fn get_of_an_unknown_product_is_404() {
    let app = TestApp::spawn().await;

    app.product("no-such-product")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}
