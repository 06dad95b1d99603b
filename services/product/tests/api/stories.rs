//! `POST /products/{id}/generate-story`: cultural stories from the ML
//! service, kept on the product; nothing changes when it is down.

use http::StatusCode;
use product::domain::products::ProductView;
use serde_json::json;

use crate::helpers::TestApp;

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
    let view = response.json::<ProductView>();
    assert_eq!(view.cultural_story_by.as_deref(), Some("template"));
    let story = view.cultural_story;
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

#[tokio::test]
async fn a_story_the_model_declines_is_422_content_refused_not_a_retry() {
    let app = TestApp::spawn().await;
    app.ml.refuse();
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

    let problem = response.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "content_refused");
    assert!(response.header("retry-after").is_none());
    assert!(problem.detail.unwrap_or_default().contains("SAFETY"));
    assert_eq!(app.get(&path, None).await.etag(), etag);
}
