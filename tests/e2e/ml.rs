//! An artisan lists a product with a photo and, without doing anything
//! else, sees its analysis appear on the product; then has its story
//! written, its marketing content made from the analysed photo, and a
//! moodboard stored as their media — with no text model configured, each
//! labelled as template text.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use testkit::{AuthApi, eventually};

use crate::media::{multipart, photo};
use crate::send;

#[tokio::test]
async fn a_listed_photo_is_analysed_and_shown_on_the_product() {
    let (system, gw, auth) =
        crate::through_gateway(&["gateway", "auth", "product", "media", "ml"]).await;
    let artisan = auth.new_user("artisan").await.unwrap();
    let buyer = auth.new_user("buyer").await.unwrap();
    let http = reqwest::Client::new();
    let (content_type, body) = multipart(&photo());
    let (status, uploaded) = send(
        http.post(format!("{gw}/media/upload"))
            .bearer_auth(&artisan.id_token)
            .header("content-type", content_type)
            .body(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    let media_id = uploaded["items"][0]["id"].as_str().unwrap().to_owned();

    // Asked directly: the artisan's own photo, measured at its 640 px.
    let (status, analysis) = send(
        http.post(format!("{gw}/ml/analyze-image"))
            .bearer_auth(&artisan.id_token)
            .json(&json!({"media_id": media_id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{analysis}");
    assert_eq!(analysis["quality"]["width"], 640);
    // A buyer may not ask.
    let (status, _) = send(
        http.post(format!("{gw}/ml/analyze-image"))
            .bearer_auth(&buyer.id_token)
            .json(&json!({"media_id": media_id})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let created = crate::create_product(
        &http,
        &gw,
        &artisan.id_token,
        &json!({
            "title": "Pashmina shawl", "description": {"en": "Hand-woven pashmina."},
            "category": "textiles", "subcategory": "shawl",
            "price": {"amount": 1_250_000, "currency": "INR"}, "media_ids": [media_id]
        }),
    )
    .await;
    assert_eq!(created["ai"]["status"], "pending");
    let id = created["id"].as_str().unwrap().to_owned();
    let product = eventually(Duration::from_secs(20), "the photo's analysis", || async {
        let (_, p) = send(http.get(format!("{gw}/products/{id}"))).await;
        (p["ai"]["status"] == "ready").then_some(p)
    })
    .await
    .unwrap();
    let ai = &product["ai"];
    let colours = ai["dominant_colors"].as_array().unwrap();
    assert!(!colours.is_empty() && colours.len() <= 5, "{ai}");
    assert!(colours.iter().all(|c| c.as_str().unwrap().starts_with('#')));
    assert!(
        ["A", "B", "C", "D"].contains(&ai["quality_grade"].as_str().unwrap()),
        "{ai}"
    );

    // The product service asks the ML service for the story, and keeps
    // what wrote it.
    let (status, storied) = send(
        http.post(format!("{gw}/products/{id}/generate-story"))
            .bearer_auth(&artisan.id_token)
            .json(&json!({"language": "hi"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{storied}");
    assert_eq!(storied["cultural_story"], "Pashmina shawl। हाथ से बना।");
    assert_eq!(storied["cultural_story_by"], "template");

    // Marketing content: posters in the colours measured in the photo.
    let (status, content) = send(
        http.post(format!("{gw}/ml/marketing-content"))
            .bearer_auth(&artisan.id_token)
            .json(&json!({"product_id": id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{content}");
    assert_eq!(content["source"]["status"], "template");
    let designs = &content["poster_designs"];
    assert_eq!(designs["status"], "designed", "{designs}");
    assert_eq!(
        designs["designs"][0]["background"]
            .as_str()
            .map(str::to_lowercase),
        colours[0].as_str().map(str::to_lowercase)
    );

    // A moodboard, stored through the media service as the artisan's.
    let (status, board) = send(
        http.post(format!("{gw}/ml/generate-moodboard"))
            .bearer_auth(&artisan.id_token)
            .json(&json!({"media_id": media_id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert_eq!(board["market_alignment"]["listings_compared"], 1);
    assert_eq!(board["similar_products"][0]["product_id"], id);
    let url = board["moodboard"]["url"].as_str().unwrap();
    let image = http
        .get(format!("{gw}{url}"))
        .bearer_auth(&artisan.id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    system.stop().await.unwrap();
}
