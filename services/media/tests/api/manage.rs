//! Reading, deleting and re-optimising media.

use http::StatusCode;
use image::GenericImageView as _;
use media::domain::MediaView;
use serde_json::json;
use testkit::users::ARTISAN;

use crate::helpers::{TestApp, photo, sha256_hex};

#[tokio::test]
async fn get_returns_the_metadata() {
    let app = TestApp::spawn().await;
    let item = app.upload_public_photo(photo()).await;
    let response = app
        .get(&format!("/media/{}", item.id), Some(&app.buyer()))
        .await;
    response.assert_status(StatusCode::OK);
    let got: MediaView = response.json();
    assert_eq!(got.id, item.id);
    assert_eq!(got.owner_id, ARTISAN);
    assert_eq!(got.sha256, sha256_hex(photo()));
    assert_eq!(got.variants.len(), 6);
    app.get("/media/no-such-media", Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn only_the_owner_or_an_admin_may_delete_and_then_it_is_gone() {
    let app = TestApp::spawn().await;
    let item = app.upload_public_photo(photo()).await;
    let path = format!("/media/{}", item.id);

    app.delete(&path, Some(&app.other_artisan()))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.delete(&path, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.get(&path, Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.content(&item.id, "thumb.webp")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    // Uploaded again (the hash link went too), an admin may delete it.
    let again = app.upload_photo(&app.artisan(), photo()).await;
    assert_ne!(again.id, item.id);
    app.delete(&format!("/media/{}", again.id), Some(&app.admin()))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.get(&format!("/media/{}", again.id), Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn the_owner_may_optimize_into_a_named_variant_others_may_not() {
    let app = TestApp::spawn().await;
    let item = app.upload_public_photo(photo()).await;
    let path = format!("/media/{}/optimize", item.id);
    let body = json!({ "widths": [200], "formats": ["webp"], "quality": 50 });

    app.post_json(&path, &body, Some(&app.other_artisan()))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    let response = app.post_json(&path, &body, Some(&app.artisan())).await;
    response.assert_status(StatusCode::OK);
    let got: MediaView = response.json();
    let variant = &got
        .variants
        .iter()
        .find(|v| v.variant.name == "w200q50.webp")
        .unwrap_or_else(|| panic!("no w200q50.webp: {:?}", got.variants))
        .variant;
    assert_eq!(variant.content_type, "image/webp");
    assert_eq!((variant.width, variant.height), (200, 150));
    let bytes = app.variant_bytes(&item.id, "w200q50.webp").await;
    assert_eq!(sha256_hex(&bytes), variant.sha256);
    let decoded = image::load_from_memory(&bytes).expect("the variant decodes");
    assert_eq!(decoded.dimensions(), (200, 150));
}

#[tokio::test]
async fn optimize_with_quality_0_is_422_naming_quality() {
    let app = TestApp::spawn().await;
    let item = app.upload_photo(&app.artisan(), photo()).await;
    app.post_json(
        &format!("/media/{}/optimize", item.id),
        &json!({ "widths": [200], "formats": ["webp"], "quality": 0 }),
        Some(&app.artisan()),
    )
    .await
    .assert_invalid_fields(&["quality"]);
}
