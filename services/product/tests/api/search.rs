//! `POST /products/search`: multilingual full text, highlights, filters,
//! paging, and queries that try to break the parser.

use std::collections::HashSet;

use common::identity::Role;
use events::v1::AnalysisCompleted;
use http::StatusCode;
use product::routes::search::SearchPage;
use serde_json::{Value, json};

use crate::helpers::{TestApp, field_code};

/// The hits of a 200 search.
#[track_caller]
fn hits(response: &crate::helpers::TestResponse) -> SearchPage {
    response.assert_status(StatusCode::OK);
    response.json()
}

fn hit_ids(page: &SearchPage) -> Vec<String> {
    page.items.iter().map(|h| h.product.id.clone()).collect()
}

#[tokio::test]
async fn a_word_of_a_hindi_description_finds_the_product() {
    let app = TestApp::spawn().await;
    let saree = app
        .create_product(
            &app.artisan(),
            json!({
                "title": "Silk saree from Varanasi",
                "description": {"en": "Handwoven on a pit loom.", "hi": "वाराणसी की हाथ से बुनी बनारसी रेशमी साड़ी।"}
            }),
        )
        .await
        .id;
    app.create_product(&app.artisan(), json!({})).await;

    let found = hits(&app.search(&json!({"query": "बनारसी"})).await);

    assert_eq!(hit_ids(&found), [saree]);
    let highlight = found.items[0]
        .highlights
        .values()
        .find(|h| h.contains("बनारसी"))
        .cloned()
        .unwrap_or_default();
    assert!(highlight.contains("<b>"), "{:?}", found.items[0].highlights);
}

#[tokio::test]
async fn an_english_title_word_is_found_and_highlighted() {
    let app = TestApp::spawn().await;
    let vase = app
        .create_product(
            &app.artisan(),
            json!({"title": "Terracotta horse of Bankura", "category": "pottery"}),
        )
        .await
        .id;
    app.create_product(&app.artisan(), json!({})).await;

    let found = hits(&app.search(&json!({"query": "terracotta"})).await);

    assert_eq!(hit_ids(&found), [vase]);
    let hit = &found.items[0];
    assert!(hit.score > 0.0);
    let title = hit
        .highlights
        .get("title")
        .unwrap_or_else(|| panic!("no title highlight: {:?}", hit.highlights));
    assert!(title.contains("<b>Terracotta</b>"), "{title}");
}

#[tokio::test]
async fn search_applies_the_list_filters() {
    let app = TestApp::spawn().await;
    let stole = app.create_product(&app.artisan(), json!({})).await.id;
    let pendant = app
        .create_product(
            &app.artisan(),
            json!({"title": "Kantha pendant", "category": "jewelry", "price": {"amount": 90_000, "currency": "INR"}, "materials": ["brass"]}),
        )
        .await
        .id;

    let search = async |filters: Value| {
        hit_ids(&hits(
            &app.search(&json!({"query": "kantha", "filters": filters}))
                .await,
        ))
    };
    assert_eq!(
        search(json!({"category": "jewelry"})).await,
        [pendant.as_str()]
    );
    assert_eq!(
        search(json!({"max_price": 100_000})).await,
        [pendant.as_str()]
    );
    assert_eq!(
        search(json!({"min_price": 100_000})).await,
        [stole.as_str()]
    );
    assert_eq!(search(json!({"material": "Brass"})).await, [pendant]);
    assert_eq!(
        search(json!({"region": "West Bengal", "category": "textiles"})).await,
        [stole]
    );
    assert!(search(json!({"artisan": "someone-else"})).await.is_empty());
}

#[tokio::test]
async fn search_refuses_bad_filters() {
    let app = TestApp::spawn().await;

    let sorted = app
        .search(&json!({"query": "kantha", "filters": {"sort": "newest"}}))
        .await;
    let unknown = app
        .search(&json!({"query": "kantha", "filters": {"colour": "red"}}))
        .await;
    let category = app
        .search(&json!({"query": "kantha", "filters": {"category": "spaceships"}}))
        .await;
    let cursor = app
        .search(&json!({"query": "kantha", "filters": {"cursor": "bm9wZQ"}}))
        .await;
    let limit = app
        .search(&json!({"query": "kantha", "filters": {"limit": 101}}))
        .await;
    let prices = app
        .search(&json!({"query": "kantha", "filters": {"min_price": 2, "max_price": 1}}))
        .await;

    sorted.assert_invalid_fields(&["filters.sort"]);
    let problem = unknown.assert_invalid_fields(&["filters.colour"]);
    assert_eq!(field_code(&problem, "filters.colour"), "unknown_field");
    let problem = category.assert_invalid_fields(&["filters.category"]);
    assert_eq!(field_code(&problem, "filters.category"), "unknown_category");
    cursor.assert_invalid_fields(&["filters.cursor"]);
    limit.assert_invalid_fields(&["filters.limit"]);
    prices.assert_invalid_fields(&["filters.min_price"]);
}

#[tokio::test]
async fn soft_deleted_products_are_not_found() {
    let app = TestApp::spawn().await;
    let kept = app.create_product(&app.artisan(), json!({})).await.id;
    let gone = app.create_product(&app.artisan(), json!({})).await.id;
    app.delete(&format!("/products/{gone}"), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let found = hits(&app.search(&json!({"query": "kantha"})).await);
    let everything = hits(&app.search(&json!({"query": ""})).await);

    assert_eq!(hit_ids(&found), [kept.as_str()]);
    assert_eq!(hit_ids(&everything), [kept]);
}

#[tokio::test]
async fn paging_with_next_cursor_visits_every_hit_once() {
    let app = TestApp::spawn().await;
    let mut created = HashSet::new();
    for i in 0..5 {
        created.insert(
            app.create_product(
                &app.artisan(),
                json!({"title": format!("Madhubani painting {i}")}),
            )
            .await
            .id,
        );
    }
    app.create_product(&app.artisan(), json!({})).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut filters = json!({"limit": 2});
        if let Some(c) = &cursor {
            filters["cursor"] = json!(c);
        }
        let page = hits(
            &app.search(&json!({"query": "madhubani", "filters": filters}))
                .await,
        );
        assert!(page.items.len() <= 2);
        seen.extend(hit_ids(&page));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }

    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), created);
}

#[tokio::test]
async fn hostile_queries_never_fail_the_server() {
    let app = TestApp::spawn().await;
    app.create_product(&app.artisan(), json!({})).await;
    let long = "kantha ".repeat(71);
    let queries = [
        "\"",
        "\"unclosed phrase",
        "title:",
        ":",
        "*",
        "kantha*",
        "AND OR NOT",
        "((((kantha",
        "kantha))))",
        "-",
        "-kantha",
        "+kantha",
        "~",
        "kantha~99999",
        "\"kantha stole\"~4294967295",
        "kantha^1e39",
        "kantha^NaN",
        "price:[0 TO 100]",
        "status:deleted",
        "artisan_id:*",
        "title:/k.*a/",
        "IN [a b c]",
        "\\",
        "{}[]<>",
        "'; DROP TABLE products; --",
        "<script>alert(1)</script>",
        "\u{0}\u{7}\u{1b}",
        "🧵🪡",
        "ा्",
        long.as_str(),
    ];

    for query in queries {
        let response = app.search(&json!({ "query": query })).await;

        assert!(
            response.status == StatusCode::OK
                || response.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{query:?} → {}: {}",
            response.status,
            response.body
        );
    }
    let too_long = app.search(&json!({"query": "k".repeat(501)})).await;
    too_long.assert_invalid_fields(&["query"]);
}

#[tokio::test]
async fn a_query_cannot_reach_deleted_products_through_field_syntax() {
    let app = TestApp::spawn().await;
    let gone = app.create_product(&app.artisan(), json!({})).await.id;
    app.delete(&format!("/products/{gone}"), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    for query in ["status:deleted", "kantha OR status:deleted", "*"] {
        let found = hits(&app.search(&json!({ "query": query })).await);

        assert!(found.items.is_empty(), "{query:?}: {:?}", hit_ids(&found));
    }
}

#[tokio::test]
async fn a_restart_rebuilds_an_index_that_missed_changes() {
    let app = TestApp::spawn().await;
    let product = app
        .create_product(
            &app.artisan(),
            json!({"description": {"en": "A brass owl cast by the lost wax method."}}),
        )
        .await;
    // A translation arrives by event; nothing syncs the index in process.
    let analysis = AnalysisCompleted {
        product_id: product.id.clone(),
        translated_description: [("hi".to_owned(), "ढोकरा पीतल का उल्लू".to_owned())].into(),
        ..Default::default()
    };
    let pipeline = app.token("pipeline", Role::Service);
    app.push_as(&pipeline, "evt-1", &product.id, &analysis)
        .await
        .assert_status(StatusCode::OK);
    assert!(
        hits(&app.search(&json!({"query": "ढोकरा"})).await)
            .items
            .is_empty()
    );

    let app = app.restart().await;

    let found = hits(&app.search(&json!({"query": "ढोकरा"})).await);
    assert_eq!(hit_ids(&found), [product.id.as_str()]);
    assert_eq!(
        hit_ids(&hits(&app.search(&json!({"query": "owl"})).await)),
        [product.id.as_str()]
    );
}

#[tokio::test]
async fn the_sync_finds_a_change_another_instance_committed_after_it_passed_its_stamp() {
    let app = TestApp::serve().await;
    let first = app
        .create_product(&app.artisan(), json!({"title": "Brass owl"}))
        .await;
    let store = app.store();
    let stored = store
        .backend()
        .get("products", &first.id)
        .await
        .unwrap()
        .unwrap()
        .data;
    let stamp: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(stored["updated_at"].clone()).unwrap();
    // A copy of the first product committed straight into the store, as
    // another instance would, titled `title` and stamped `at`.
    let commit_copy = |id: &'static str, title: &'static str, at: chrono::DateTime<chrono::Utc>| {
        let mut doc = stored.clone();
        doc["title"] = json!(title);
        doc["updated_at"] = serde_json::to_value(at).unwrap();
        let store = store.clone();
        async move {
            let put = store::Write::Put {
                collection: "products".to_owned(),
                id: id.to_owned(),
                data: doc,
                precondition: Some(store::Precondition::Absent),
            };
            store.backend().commit(vec![put]).await.unwrap();
        }
    };
    let found = |word: &'static str, id: &'static str| {
        let app = &app;
        move || async move {
            let found = hits(&app.search(&json!({"query": word})).await);
            (hit_ids(&found) == [id]).then_some(())
        }
    };
    let wait = std::time::Duration::from_secs(10);

    // The sync has passed the first product's stamp once it finds a change
    // stamped after it that only the store knows of.
    commit_copy("probe-product", "Sandalwood comb", chrono::Utc::now()).await;
    testkit::eventually(
        wait,
        "the probe to be found",
        found("sandalwood", "probe-product"),
    )
    .await
    .unwrap();

    // Another instance stamped its change before the first product's and
    // committed it only now.
    let late = stamp - chrono::TimeDelta::seconds(2);
    commit_copy("late-product", "Stoneware teapot", late).await;
    testkit::eventually(
        wait,
        "the late change to be found",
        found("teapot", "late-product"),
    )
    .await
    .unwrap();
}
