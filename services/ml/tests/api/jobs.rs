//! A listed product's photo is analysed without anyone asking, and the
//! analysis published once, even when the media service was away.

use std::sync::atomic::Ordering;
use std::time::Duration;

use events::v1::{AnalysisCompleted, ProductCreated, ProductDeleted};
use testkit::eventually;

use crate::helpers::{TestApp, two_colours};

fn listed(id: &str, media: &[&str]) -> ProductCreated {
    ProductCreated {
        product_id: id.to_owned(),
        artisan_id: testkit::users::ARTISAN.to_owned(),
        category: "pottery".to_owned(),
        media_ids: media.iter().map(|m| (*m).to_owned()).collect(),
        ..Default::default()
    }
}

async fn published(app: &TestApp) -> Vec<AnalysisCompleted> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.event_type == "ml.analysis.completed")
        .map(|e| e.decode::<AnalysisCompleted>().unwrap())
        .collect()
}

#[tokio::test]
async fn a_listed_products_photo_is_analysed_and_published_once() {
    let app = TestApp::spawn().await;
    app.holds("m1", 2000, 1250, two_colours(1600, 1000));
    app.push("e1", "p1", &listed("p1", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    // Delivered twice: one job, one analysis.
    app.push("e1", "p1", &listed("p1", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    let done = eventually(Duration::from_secs(10), "the analysis", || async {
        let p = published(&app).await;
        (!p.is_empty()).then_some(p)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(published(&app).await.len(), 1);
    let a = &done[0];
    assert_eq!(a.product_id, "p1");
    assert_eq!(a.dominant_colors, ["#cc4e36", "#141e50"]);
    assert!(a.tags.contains(&"warm".to_owned()), "{:?}", a.tags);
    assert!(["A", "B", "C", "D"].contains(&a.quality_grade.as_str()));
    // No product without photos is analysed.
    app.push("e2", "p2", &listed("p2", &[]))
        .await
        .assert_status(http::StatusCode::OK);
}

#[tokio::test]
async fn a_photo_waits_while_the_media_service_is_away_and_a_deleted_product_is_dropped() {
    let app = TestApp::spawn().await;
    app.holds("m1", 1600, 1000, two_colours(1600, 1000));
    app.media.down.store(true, Ordering::SeqCst);
    app.push("e1", "p1", &listed("p1", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    app.push("e2", "p2", &listed("p2", &["m1"]))
        .await
        .assert_status(http::StatusCode::OK);
    let deleted = ProductDeleted {
        product_id: "p2".into(),
        artisan_id: testkit::users::ARTISAN.into(),
    };
    app.push("e3", "p2", &deleted)
        .await
        .assert_status(http::StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(published(&app).await.is_empty());
    app.media.down.store(false, Ordering::SeqCst);
    // The first retry comes two seconds after the failure.
    let done = eventually(
        Duration::from_secs(10),
        "the analysis after the outage",
        || async {
            let p = published(&app).await;
            (!p.is_empty()).then_some(p)
        },
    )
    .await
    .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].product_id, "p1");
}

#[tokio::test]
async fn with_providers_the_published_analysis_carries_vision_labels_and_translations_of_what_the_artisan_left_out()
 {
    use serde_json::json;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, ResponseTemplate};

    let google = crate::helpers::FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images:annotate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "responses": [{"labelAnnotations": [
                {"description": "Pottery", "score": 0.95},
                {"description": "Sky", "score": 0.4},
            ]}],
        })))
        .mount(&google.api)
        .await;
    // Translated from the artisan's English into the four languages they
    // did not write; their Hindi is theirs.
    Mock::given(method("POST"))
        .and(path(
            "/v3/projects/craftchain-prod/locations/global:translateText",
        ))
        .and(body_string_contains(r#""contents":["A glazed bowl."]"#))
        .and(body_string_contains(r#""sourceLanguageCode":"en""#))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "translations": [{"translatedText": "translated"}],
        })))
        .expect(4)
        .mount(&google.api)
        .await;
    let app = TestApp::spawn_with(google.providers()).await;
    app.holds("m1", 2000, 1250, two_colours(1600, 1000));
    let mut product = listed("p1", &["m1"]);
    product.description = [
        ("en".to_owned(), "A glazed bowl.".to_owned()),
        ("hi".to_owned(), "एक चमकदार कटोरा।".to_owned()),
    ]
    .into();
    app.push("e1", "p1", &product)
        .await
        .assert_status(http::StatusCode::OK);

    let done = eventually(Duration::from_secs(10), "the analysis", || async {
        let p = published(&app).await;
        (!p.is_empty()).then_some(p)
    })
    .await
    .unwrap();

    let a = &done[0];
    assert!(a.tags.contains(&"pottery".to_owned()), "{:?}", a.tags);
    assert!(!a.tags.contains(&"sky".to_owned()), "{:?}", a.tags);
    let mut languages: Vec<&str> = a
        .translated_description
        .keys()
        .map(String::as_str)
        .collect();
    languages.sort_unstable();
    assert_eq!(languages, ["bn", "mr", "ta", "te"]);
    assert_eq!(a.translated_description["ta"], "translated");
}
