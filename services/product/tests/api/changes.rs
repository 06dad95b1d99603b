//! Changing a product: conditional updates (`If-Match`), who may make them
//! and what they may change, soft delete and restore.

use common::identity::Role;
use http::StatusCode;
use product::domain::products::{ProductStatus, ProductView};
use serde_json::json;

use crate::helpers::{ARTISAN, OTHER_ARTISAN, TestApp, field_code, ids};

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
