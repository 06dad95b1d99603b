//! `/products` and `/products/{id}`: creating, reading with ETags,
//! conditional updates, soft delete and restore, and cultural stories.

use common::identity::Role;
use http::StatusCode;
use product::domain::products::{Pending, ProductStatus, ProductView};
use serde_json::{Value, json};

use crate::helpers::{ARTISAN, OTHER_ARTISAN, TestApp, field_code, ids, product_body};

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
        .get_if_none_match(&format!("/products/{id}"), &read.etag())
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

#[tokio::test]
async fn update_without_if_match_is_428() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;

    let response = app
        .patch_json(
            &format!("/products/{}", product.id),
            &json!({"title": "New"}),
            Some(&app.artisan()),
            None,
        )
        .await;

    response.assert_problem(StatusCode::PRECONDITION_REQUIRED, "precondition_required");
}

#[tokio::test]
async fn update_returns_412_when_if_match_is_stale_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let stale = app.product(&product.id).await.etag();
    let first = app
        .patch_json(
            &path,
            &json!({"title": "Indigo kantha stole"}),
            Some(&app.artisan()),
            Some(&stale),
        )
        .await;
    first.assert_status(StatusCode::OK);

    let second = app
        .patch_json(
            &path,
            &json!({"title": "Lost update"}),
            Some(&app.artisan()),
            Some(&stale),
        )
        .await;

    second.assert_problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    let now = app.get(&path, None).await;
    assert_eq!(now.json::<ProductView>().title, "Indigo kantha stole");
    assert_eq!(now.etag(), first.etag());
}

#[tokio::test]
async fn update_with_the_current_etag_returns_200_and_a_new_etag() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    let response = app
        .patch_json(
            &path,
            &json!({"price": {"amount": 199_900, "currency": "INR"}, "description": {"bn": "হাতে সেলাই করা কাঁথা স্টোল।"}}),
            Some(&app.artisan()),
            Some(&etag),
        )
        .await;

    response.assert_status(StatusCode::OK);
    assert_ne!(response.etag(), etag);
    let updated: ProductView = response.json();
    assert_eq!(updated.price.amount, 199_900);
    assert_eq!(updated.title, product.title, "fields not in the patch stay");
    assert_eq!(
        updated.description.keys().collect::<Vec<_>>(),
        ["bn", "en", "hi"],
        "languages given are added"
    );
    assert_eq!(app.get(&path, None).await.etag(), response.etag());
}

#[tokio::test]
async fn update_by_another_artisan_is_403() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    let response = app
        .patch_json(
            &path,
            &json!({"title": "Mine now"}),
            Some(&app.token(OTHER_ARTISAN, Role::Artisan)),
            Some(&etag),
        )
        .await;

    response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get(&path, None).await.etag(), etag);
}

#[tokio::test]
async fn update_by_an_admin_is_200() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    let response = app
        .patch_json(
            &path,
            &json!({"status": "paused"}),
            Some(&app.admin()),
            Some(&etag),
        )
        .await;

    response.assert_status(StatusCode::OK);
    let updated: ProductView = response.json();
    assert_eq!(updated.status, ProductStatus::Paused);
    assert_eq!(updated.artisan_id, ARTISAN, "the owner stays");
}

#[tokio::test]
async fn update_refuses_the_owner_and_the_fields_other_services_fill() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    for (field, value) in [
        ("artisan_id", json!(OTHER_ARTISAN)),
        ("ai", json!({"status": "ready", "tags": ["fake"]})),
        ("suggested_price", json!({"status": "ready"})),
    ] {
        let response = app
            .patch_json(
                &path,
                &json!({ field: value }),
                Some(&app.artisan()),
                Some(&etag),
            )
            .await;

        let problem = response.assert_invalid_fields(&[field]);
        assert_eq!(field_code(&problem, field), "unknown_field");
    }
    assert_eq!(app.get(&path, None).await.etag(), etag);
}

#[tokio::test]
async fn update_cannot_delete_through_the_status() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    let response = app
        .patch_json(
            &path,
            &json!({"status": "deleted"}),
            Some(&app.artisan()),
            Some(&etag),
        )
        .await;

    response.assert_invalid_fields(&["status"]);
    app.get(&path, None).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn update_validates_the_merged_product() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    let response = app
        .patch_json(
            &path,
            &json!({"price": {"amount": -1, "currency": "INR"}}),
            Some(&app.artisan()),
            Some(&etag),
        )
        .await;

    response.assert_invalid_fields(&["price.amount"]);
    assert_eq!(app.get(&path, None).await.etag(), etag);
}

#[tokio::test]
async fn update_checks_new_media_against_the_products_artisan() {
    let app = TestApp::spawn().await;
    app.media.add("img-mine", ARTISAN);
    app.media.add("img-ravis", OTHER_ARTISAN);
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    let foreign = app
        .patch_json(
            &path,
            &json!({"media_ids": ["img-ravis"]}),
            Some(&app.admin()),
            Some(&etag),
        )
        .await;
    let own = app
        .patch_json(
            &path,
            &json!({"media_ids": ["img-mine"]}),
            Some(&app.admin()),
            Some(&etag),
        )
        .await;

    let problem = foreign.assert_invalid_fields(&["media_ids[0]"]);
    assert_eq!(field_code(&problem, "media_ids[0]"), "not_owner");
    own.assert_status(StatusCode::OK);
    assert_eq!(own.json::<ProductView>().media_ids, ["img-mine"]);
}

#[tokio::test]
async fn delete_by_the_owner_hides_the_product_from_reads_lists_and_search() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);

    let response = app.delete(&path, Some(&app.artisan())).await;

    response.assert_status(StatusCode::NO_CONTENT);
    app.get(&path, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert!(app.list("").await.items.is_empty());
    let found = app.search(&json!({"query": "kantha"})).await;
    found.assert_status(StatusCode::OK);
    assert_eq!(found.body["items"], json!([]));
    app.delete(&path, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_by_another_artisan_is_403() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);

    let response = app
        .delete(&path, Some(&app.token(OTHER_ARTISAN, Role::Artisan)))
        .await;

    response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.get(&path, None).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn an_admin_restores_a_deleted_product_everywhere() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    app.delete(&path, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let response = app
        .post_json(&format!("{path}/restore"), &json!({}), Some(&app.admin()))
        .await;

    response.assert_status(StatusCode::OK);
    assert_eq!(response.json::<ProductView>().status, ProductStatus::Active);
    app.get(&path, None).await.assert_status(StatusCode::OK);
    assert_eq!(ids(&app.list("").await), [product.id.as_str()]);
    let found = app.search(&json!({"query": "kantha"})).await;
    assert_eq!(
        found.body["items"][0]["product"]["id"],
        product.id.as_str(),
        "{}",
        found.body
    );
}

#[tokio::test]
async fn restore_by_a_non_admin_is_403_and_of_a_live_product_409() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let live = app
        .post_json(&format!("{path}/restore"), &json!({}), Some(&app.admin()))
        .await;
    app.delete(&path, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let by_owner = app
        .post_json(&format!("{path}/restore"), &json!({}), Some(&app.artisan()))
        .await;

    live.assert_problem(StatusCode::CONFLICT, "not_deleted");
    by_owner.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.get(&path, None)
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn generate_story_keeps_what_the_ml_service_wrote() {
    let app = TestApp::spawn().await;
    app.ml
        .answer("  Kantha began as a way to give old saris a second life.  ");
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);

    let response = app
        .post_json(
            &format!("{path}/generate-story"),
            &json!({"language": "hi"}),
            Some(&app.artisan()),
        )
        .await;

    response.assert_status(StatusCode::OK);
    let story = response.json::<ProductView>().cultural_story;
    assert_eq!(
        story.as_deref(),
        Some("Kantha began as a way to give old saris a second life.")
    );
    assert_eq!(
        app.get(&path, None)
            .await
            .json::<ProductView>()
            .cultural_story,
        story
    );
    let asked = app.ml.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].product_id, product.id);
    assert_eq!(asked[0].language, "hi");
    assert_eq!(asked[0].craft_tradition.as_deref(), Some("Kantha"));
}

#[tokio::test]
async fn generate_story_when_the_ml_service_is_down_is_503_and_leaves_the_product_unchanged() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}", product.id);
    let etag = app.get(&path, None).await.etag();

    let response = app
        .post_json(
            &format!("{path}/generate-story"),
            &json!({}),
            Some(&app.artisan()),
        )
        .await;

    response.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(response.header("retry-after").is_some());
    let after = app.get(&path, None).await;
    assert_eq!(after.etag(), etag);
    assert_eq!(after.json::<ProductView>().cultural_story, None);
}

#[tokio::test]
async fn generate_story_is_for_the_owner_or_an_admin_in_a_known_language() {
    let app = TestApp::spawn().await;
    app.ml.answer("A story.");
    let product = app.create_product(&app.artisan(), json!({})).await;
    let path = format!("/products/{}/generate-story", product.id);

    let by_buyer = app.post_json(&path, &json!({}), Some(&app.buyer())).await;
    let in_french = app
        .post_json(&path, &json!({"language": "fr"}), Some(&app.artisan()))
        .await;

    by_buyer.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    in_french.assert_invalid_fields(&["language"]);
    assert!(app.ml.requests().is_empty());
}
