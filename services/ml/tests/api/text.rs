//! Descriptions, cultural stories, marketing content and embeddings:
//! locally from templates (labelled) or not at all, and through Google's
//! APIs as documented when configured.

use events::v1::ProductCreated;
use http::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{FakeGoogle, TestApp};

const GEMINI: &str = "/v1/projects/craftchain-prod/locations/asia-south1/publishers/google/models/gemini-2.0-flash-001:generateContent";
const TRANSLATE: &str = "/v3/projects/craftchain-prod/locations/global:translateText";

fn textile(id: &str, title: &str, artisan: &str) -> ProductCreated {
    ProductCreated {
        product_id: id.to_owned(),
        artisan_id: artisan.to_owned(),
        title: title.to_owned(),
        category: "textiles".to_owned(),
        subcategory: "stoles".to_owned(),
        region: "Kutch, Gujarat".to_owned(),
        craft_tradition: "Ajrakh".to_owned(),
        materials: vec!["cotton".to_owned(), "indigo".to_owned()],
        description: [("en".to_owned(), format!("{title}, woven on a pit loom."))].into(),
        production_time_days: 12,
        status: "active".to_owned(),
        ..Default::default()
    }
}

async fn list(app: &TestApp, products: &[ProductCreated]) {
    for (i, p) in products.iter().enumerate() {
        app.push(&format!("created-{i}"), &p.product_id, p)
            .await
            .assert_status(StatusCode::OK);
    }
}

fn ask() -> Value {
    json!({
        "title": "Ajrakh cotton stole", "category": "textiles", "subcategory": "stoles",
        "region": "Kutch, Gujarat", "craft_tradition": "Ajrakh",
        "materials": ["cotton", "indigo"], "production_time_days": 12,
        "description": {"hi": "मेरा अपना विवरण"}
    })
}

#[tokio::test]
async fn with_no_text_model_a_description_is_template_text_labelled_so_and_nothing_is_translated() {
    let app = TestApp::spawn().await;
    let a = testkit::users::ARTISAN;
    // Three listings of another tradition, in cotton.
    let corpus: Vec<ProductCreated> = [
        ("t1", "Cotton saree"),
        ("t2", "Cotton dupatta"),
        ("t3", "Cotton shawl"),
    ]
    .into_iter()
    .map(|(id, title)| ProductCreated {
        craft_tradition: "Bandhani".to_owned(),
        ..textile(id, title, a)
    })
    .collect();
    list(&app, &corpus).await;

    let d: Value = app
        .post_json("/ml/generate-description", &ask(), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::OK)
        .json();

    assert_eq!(d["source"]["status"], "template");
    assert_eq!(
        d["primary_description"],
        "Ajrakh cotton stole. Handmade in Kutch, Gujarat. Craft tradition: Ajrakh. Materials: cotton, indigo. Each piece takes about 12 days to make."
    );
    // The artisan's Hindi is kept as theirs; nothing is machine-translated.
    assert_eq!(
        d["translations"]["hi"],
        json!({"status": "artisan_written", "text": "मेरा अपना विवरण"})
    );
    for lang in ["bn", "ta", "te", "mr"] {
        assert_eq!(d["translations"][lang]["status"], "unavailable", "{lang}");
    }
    assert!(d["translations"].get("en").is_none());
    // Drawn from the product's own words, weighed against the three
    // listings' same fields: the tradition none of them names comes first,
    // and the templates' labels are never keywords.
    let k = &d["seo_keywords"];
    assert_eq!(k["method"], "tf-idf");
    assert_eq!(k["corpus_listings"], 3);
    assert_eq!(k["keywords"][0]["keyword"], "ajrakh");
    assert_eq!(k["keywords"][0]["listings_using"], 0);
    for w in k["keywords"].as_array().unwrap() {
        let w = w["keyword"].as_str().unwrap();
        assert!(
            !["handmade", "tradition", "materials", "piece"]
                .iter()
                .any(|l| w.contains(l)),
            "{k:#}"
        );
    }
    assert_eq!(d["readability"]["method"], "flesch_reading_ease");
    assert!(d["readability"]["score"].is_number());
}

#[tokio::test]
async fn in_hindi_the_template_is_hindi_and_readability_counts_aksharas() {
    let app = TestApp::spawn().await;
    let mut body = ask();
    body["language"] = json!("hi");
    body["description"] = json!({});
    let d: Value = app
        .post_json("/ml/generate-description", &body, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(
        d["primary_description"],
        "Ajrakh cotton stole। Kutch, Gujarat में हाथ से बना। शिल्प परंपरा: Ajrakh। सामग्री: cotton, indigo। बनाने में लगभग 12 दिन लगते हैं।"
    );
    assert_eq!(d["readability"]["method"], "akshara_counts");
    assert!(d["readability"]["score"].is_null());
    assert_eq!(d["translations"]["en"]["status"], "unavailable");
}

#[tokio::test]
async fn descriptions_are_for_artisans_and_bad_input_is_422() {
    let app = TestApp::spawn().await;
    let path = "/ml/generate-description";
    app.post_json(path, &ask(), Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let mut french = ask();
    french["language"] = json!("fr");
    app.post_json(path, &french, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let mut many = ask();
    many["materials"] = json!(vec!["silk"; 21]);
    app.post_json(path, &many, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let mut untitled = ask();
    untitled["title"] = json!("   ");
    app.post_json(path, &untitled, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn with_gemini_and_cloud_translation_the_text_is_the_models_and_each_language_is_translated()
{
    let google = FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path(GEMINI))
        .and(header("authorization", "Bearer ya29.test"))
        .and(body_string_contains("Title: Ajrakh cotton stole"))
        .and(body_string_contains("Craft tradition: Ajrakh"))
        .and(body_string_contains("Answer in English"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "A stole printed by hand in Kutch."}]}, "finishReason": "STOP"}],
        })))
        .expect(1)
        .mount(&google.api)
        .await;
    Mock::given(method("POST"))
        .and(path(TRANSLATE))
        .and(body_string_contains(
            r#""contents":["A stole printed by hand in Kutch."]"#,
        ))
        .and(body_string_contains(r#""sourceLanguageCode":"en""#))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "translations": [{"translatedText": "अनूदित"}],
        })))
        .expect(4)
        .mount(&google.api)
        .await;
    let app = TestApp::spawn_with(google.providers()).await;

    let d: Value = app
        .post_json("/ml/generate-description", &ask(), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::OK)
        .json();

    assert_eq!(
        d["primary_description"],
        "A stole printed by hand in Kutch."
    );
    assert_eq!(
        d["source"],
        json!({"status": "model", "model": "vertex:gemini-2.0-flash-001"})
    );
    assert_eq!(d["translations"]["hi"]["status"], "artisan_written");
    for lang in ["bn", "ta", "te", "mr"] {
        assert_eq!(
            d["translations"][lang],
            json!({"status": "translated", "text": "अनूदित", "model": "vertex:cloud-translation-v3"}),
            "{lang}"
        );
    }
}

#[tokio::test]
async fn a_text_model_over_its_quota_is_503_with_its_retry_after_never_template_text() {
    let google = FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path(GEMINI))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "17")
                .set_body_json(json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}})),
        )
        .mount(&google.api)
        .await;
    let app = TestApp::spawn_with(google.providers()).await;

    let response = app
        .post_json("/ml/generate-description", &ask(), Some(&app.artisan()))
        .await;

    response.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(response.header("retry-after"), Some("17"));
}

#[tokio::test]
async fn a_cultural_story_for_the_product_service_is_labelled_with_what_wrote_it() {
    let app = TestApp::spawn().await;
    let body = json!({
        "product_id": "p1", "title": "Kantha quilt", "category": "textiles",
        "craft_tradition": "Kantha", "region": "West Bengal", "materials": ["cotton"],
        "language": "bn"
    });
    let s: Value = app
        .post_json("/ml/cultural-story", &body, Some(&app.service_token()))
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(s["generated_by"], "template");
    assert_eq!(s["language"], "bn");
    assert_eq!(
        s["story"],
        "Kantha quilt। West Bengal-এ হাতে তৈরি। শিল্প ঐতিহ্য: Kantha। উপকরণ: cotton।"
    );
    app.post_json("/ml/cultural-story", &body, Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn marketing_content_fits_each_platform_and_is_for_the_products_artisan() {
    let app = TestApp::spawn().await;
    let a = testkit::users::ARTISAN;
    list(
        &app,
        &[
            textile("m1", "Ajrakh cotton stole", a),
            textile("m2", "Cotton saree", "someone-else"),
        ],
    )
    .await;

    let c: Value = app
        .post_json(
            "/ml/marketing-content",
            &json!({"product_id": "m1"}),
            Some(&app.artisan()),
        )
        .await
        .assert_status(StatusCode::OK)
        .json();

    assert_eq!(c["source"]["status"], "template");
    let posts = c["social_media_posts"].as_array().unwrap();
    assert_eq!(posts.len(), 4);
    for p in posts {
        let text = p["text"].as_str().unwrap();
        assert!(
            text.chars().count() as u64 <= p["max_chars"].as_u64().unwrap(),
            "{p}"
        );
        assert!(text.starts_with("Ajrakh cotton stole."), "{p}");
    }
    let tags: Vec<&str> = c["hashtags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags[..3], ["#Ajrakh", "#Kutch", "#Textiles"]);
    assert_eq!(c["poster_designs"]["status"], "unavailable");
    assert_eq!(c["campaign_strategy"][0]["purpose"], "launch");

    app.post_json(
        "/ml/marketing-content",
        &json!({"product_id": "m2"}),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.post_json(
        "/ml/marketing-content",
        &json!({"product_id": "nope"}),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn embeddings_without_an_embedder_are_503_not_configured_and_with_vertex_are_its_vectors() {
    let local = TestApp::spawn().await;
    let body = json!({"texts": ["blue pottery vase"]});
    let response = local
        .post_json("/ml/embeddings", &body, Some(&local.service_token()))
        .await;
    response.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "provider_not_configured");
    assert!(response.header("retry-after").is_none());

    let google = FakeGoogle::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/craftchain-prod/locations/asia-south1/publishers/google/models/text-multilingual-embedding-002:predict"))
        .and(body_string_contains(r#""task_type":"RETRIEVAL_QUERY""#))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "predictions": [{"embeddings": {"values": [0.25, -0.5], "statistics": {"truncated": false, "token_count": 4}}}],
        })))
        .expect(1)
        .mount(&google.api)
        .await;
    let app = TestApp::spawn_with(google.providers()).await;
    let query = json!({"texts": ["blue pottery vase"], "task": "query"});
    let e: Value = app
        .post_json("/ml/embeddings", &query, Some(&app.service_token()))
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(e["vectors"], json!([[0.25, -0.5]]));
    app.post_json(
        "/ml/embeddings",
        &json!({"texts": []}),
        Some(&app.service_token()),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}
