//! `POST /ml/analyze-image`: uploads and media ids, and what is refused.

use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, two_colours};

#[tokio::test]
async fn an_uploaded_two_colour_photo_is_those_two_colours_measured() {
    let app = TestApp::spawn().await;
    let r = app.upload(&two_colours(800, 500), &app.artisan()).await;
    r.assert_status(StatusCode::OK);
    let a: Value = r.json();
    let palette = a["palette"].as_array().unwrap();
    assert_eq!(palette.len(), 2, "{palette:?}");
    assert_eq!(palette[0]["hex"], "#cc4e36");
    assert_eq!(palette[0]["name"], "terracotta");
    assert_eq!(palette[1]["hex"], "#141e50");
    assert!((palette[0]["share"].as_f64().unwrap() - 0.7).abs() < 0.01);
    let q = &a["quality"];
    assert_eq!(
        (q["width"].clone(), q["height"].clone()),
        (json!(800), json!(500))
    );
    let parts: Vec<&str> = q["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        [
            "sharpness",
            "exposure",
            "resolution",
            "contrast",
            "noise",
            "clipping",
            "background",
            "aspect_ratio"
        ]
    );
    assert!(
        a["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "Longest side 800 px; marketplaces want at least 1600."),
        "{a}"
    );
}

#[tokio::test]
async fn a_media_id_is_fetched_and_measured_at_its_original_size() {
    let app = TestApp::spawn().await;
    // The media service's largest variant is 1600 px; the original 4000.
    app.holds("m1", 4000, 2500, two_colours(1600, 1000));
    let a: Value = app
        .post_json(
            "/ml/analyze-image",
            &json!({"media_id": "m1"}),
            Some(&app.artisan()),
        )
        .await
        .json();
    assert_eq!(a["quality"]["width"], 4000);
    let resolution = a["quality"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "resolution")
        .unwrap()
        .clone();
    assert_eq!(resolution["score"], 1.0);
    app.post_json(
        "/ml/analyze-image",
        &json!({"media_id": "nope"}),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn what_is_not_an_image_is_refused_and_buyers_may_not_ask() {
    let app = TestApp::spawn().await;
    app.upload(b"<svg xmlns='http://www.w3.org/2000/svg'/>", &app.artisan())
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let png = two_colours(400, 300);
    app.upload(&png[..png.len() / 2], &app.artisan())
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "corrupt_image");
    app.upload(&png, &app.buyer())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.post_json(
        "/ml/analyze-image",
        &json!({"media": "m1"}),
        Some(&app.artisan()),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.media
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    app.post_json(
        "/ml/analyze-image",
        &json!({"media_id": "m1"}),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test]
async fn locally_objects_are_unavailable_and_with_cloud_vision_they_are_its_labels() {
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    let local = TestApp::spawn().await;
    let a: Value = local
        .upload(&two_colours(200, 100), &local.artisan())
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(a["recognition"]["status"], "unavailable");
    assert!(a["recognition"].get("labels").is_none());

    let google = crate::helpers::FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images:annotate"))
        .and(header("authorization", "Bearer ya29.test"))
        .and(body_string_contains("LABEL_DETECTION"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "responses": [{
                "labelAnnotations": [{"mid": "/m/0d5gx", "description": "Textile", "score": 0.91, "topicality": 0.91}],
                "localizedObjectAnnotations": [],
                "safeSearchAnnotation": {"adult": "VERY_UNLIKELY", "violence": "VERY_UNLIKELY", "racy": "UNLIKELY"},
            }],
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&google.api)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/images:annotate"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"code": 500, "message": "backend error"}})),
        )
        .mount(&google.api)
        .await;
    let app = TestApp::spawn_with(google.providers()).await;
    let a: Value = app
        .upload(&two_colours(200, 100), &app.artisan())
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(a["recognition"]["status"], "annotated");
    assert_eq!(a["recognition"]["model"], "vertex:cloud-vision-v1");
    assert_eq!(a["recognition"]["labels"][0]["name"], "Textile");
    assert_eq!(a["recognition"]["safe_search"]["racy"], "UNLIKELY");
    assert_eq!(a["palette"].as_array().unwrap().len(), 2);

    // A failing provider leaves the measurements and says why.
    let b: Value = app
        .upload(&two_colours(200, 100), &app.artisan())
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(b["recognition"]["status"], "failed");
    assert!(
        b["recognition"]["reason"]
            .as_str()
            .unwrap()
            .contains("backend error")
    );
    assert_eq!(b["palette"], a["palette"]);
}
