//! `GET /products`: filters, sorts, page sizes and cursor paging.

use std::collections::HashSet;

use common::identity::Role;
use http::StatusCode;
use serde_json::json;

use crate::helpers::{ARTISAN, OTHER_ARTISAN, TestApp, field_code, ids};

/// Create one product per price (in paise), in order, as [`ARTISAN`].
async fn products_priced(app: &TestApp, prices: &[i64]) -> Vec<String> {
    let mut created = Vec::new();
    for (i, amount) in prices.iter().enumerate() {
        let overrides = json!({"title": format!("Dhokra figurine {i}"), "price": {"amount": amount, "currency": "INR"}});
        created.push(app.create_product(&app.artisan(), overrides).await.id);
    }
    created
}

/// The ids on each page of `GET /products?{query}`, following
/// `next_cursor` to the end (failing past `max` pages).
async fn every_page(app: &TestApp, query: &str, max: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            Some(c) => app.list(&format!("{query}&cursor={c}")).await,
            None => app.list(query).await,
        };
        pages.push(ids(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
        assert!(pages.len() < max, "paging {query} does not end");
    }
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn list_filters_by_category_region_and_artisan() {
    let app = TestApp::spawn().await;
    let stole = app.create_product(&app.artisan(), json!({})).await.id;
    let vase = app
        .create_product(
            &app.artisan(),
            json!({"category": "pottery", "subcategory": "vase", "region": "Rajasthan"}),
        )
        .await
        .id;
    let ravi = app.token(OTHER_ARTISAN, Role::Artisan);
    let bowl = app
        .create_product(&ravi, json!({"category": "pottery", "region": "Rajasthan"}))
        .await
        .id;

    assert_eq!(
        sorted(ids(&app.list("category=pottery").await)),
        sorted(vec![vase.clone(), bowl.clone()])
    );
    assert_eq!(ids(&app.list("category=textiles").await), [stole.as_str()]);
    assert_eq!(
        sorted(ids(&app.list("region=Rajasthan").await)),
        sorted(vec![vase.clone(), bowl.clone()])
    );
    assert_eq!(
        ids(&app.list(&format!("artisan={OTHER_ARTISAN}")).await),
        [bowl]
    );
    assert_eq!(
        ids(&app
            .list(&format!("artisan={ARTISAN}&category=pottery"))
            .await),
        [vase]
    );
    assert!(app.list("category=jewelry").await.items.is_empty());
}

#[tokio::test]
async fn list_filters_by_material_whatever_its_case() {
    let app = TestApp::spawn().await;
    let silk = app
        .create_product(
            &app.artisan(),
            json!({"materials": ["Tussar Silk", "Cotton"]}),
        )
        .await
        .id;
    app.create_product(&app.artisan(), json!({"materials": ["brass"]}))
        .await;

    assert_eq!(
        ids(&app.list("material=TUSSAR%20SILK").await),
        [silk.as_str()]
    );
    assert_eq!(ids(&app.list("material=cotton").await), [silk]);
    assert!(
        app.list("material=silk").await.items.is_empty(),
        "a material matches whole"
    );
}

#[tokio::test]
async fn list_filters_by_price_range_inclusively() {
    let app = TestApp::spawn().await;
    let created = products_priced(&app, &[10_000, 50_000, 90_000]).await;

    assert_eq!(
        sorted(ids(&app.list("min_price=50000").await)),
        sorted(created[1..].to_vec())
    );
    assert_eq!(
        sorted(ids(&app.list("max_price=50000").await)),
        sorted(created[..2].to_vec())
    );
    assert_eq!(
        ids(&app.list("min_price=20000&max_price=60000").await),
        [created[1].clone()]
    );
    let response = app
        .get("/products?min_price=60000&max_price=20000", None)
        .await;
    response.assert_invalid_fields(&["min_price"]);
}

#[tokio::test]
async fn list_shows_paused_products_only_to_their_artisan() {
    let app = TestApp::spawn().await;
    let active = app.create_product(&app.artisan(), json!({})).await.id;
    let paused = app.create_product(&app.artisan(), json!({})).await.id;
    let path = format!("/products/{paused}");
    let etag = app.get(&path, None).await.etag();
    app.patch_json(
        &path,
        &json!({"status": "paused"}),
        Some(&app.artisan()),
        Some(&etag),
    )
    .await
    .assert_status(StatusCode::OK);

    assert_eq!(ids(&app.list("").await), [active.as_str()]);
    assert_eq!(ids(&app.list("status=active").await), [active]);
    app.get("/products?status=paused", None)
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.get("/products?status=paused", Some(&app.buyer()))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let mine = app
        .get(
            &format!("/products?status=paused&artisan={ARTISAN}"),
            Some(&app.artisan()),
        )
        .await;
    mine.assert_status(StatusCode::OK);
    assert_eq!(ids(&mine.json()), [paused.as_str()]);
    app.get(&path, None)
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get(&path, Some(&app.artisan()))
        .await
        .assert_status(StatusCode::OK);
    app.get("/products?status=deleted", None)
        .await
        .assert_invalid_fields(&["status"]);
}

#[tokio::test]
async fn list_sorts_newest_first_by_default_and_by_price_both_ways() {
    let app = TestApp::spawn().await;
    let created = products_priced(&app, &[30_000, 10_000, 20_000]).await;
    let newest: Vec<String> = created.iter().rev().cloned().collect();
    let cheapest = vec![created[1].clone(), created[2].clone(), created[0].clone()];
    let dearest: Vec<String> = cheapest.iter().rev().cloned().collect();

    assert_eq!(ids(&app.list("").await), newest);
    assert_eq!(ids(&app.list("sort=newest").await), newest);
    assert_eq!(ids(&app.list("sort=price_asc").await), cheapest);
    assert_eq!(ids(&app.list("sort=price_desc").await), dearest);
    let response = app.get("/products?sort=cheapest", None).await;
    response.assert_invalid_fields(&["sort"]);
}

#[tokio::test]
async fn list_limit_must_be_between_1_and_100() {
    let app = TestApp::spawn().await;
    products_priced(&app, &[10_000, 20_000]).await;

    for limit in ["0", "101"] {
        let response = app.get(&format!("/products?limit={limit}"), None).await;

        let problem = response.assert_invalid_fields(&["limit"]);
        assert_eq!(field_code(&problem, "limit"), "out_of_range");
    }
    assert_eq!(app.list("limit=1").await.items.len(), 1);
    assert_eq!(app.list("limit=100").await.items.len(), 2);
    app.get("/products?limit=many", None)
        .await
        .assert_invalid_fields(&["limit"]);
}

#[tokio::test]
async fn list_refuses_a_malformed_cursor_or_one_of_another_sort() {
    let app = TestApp::spawn().await;
    products_priced(&app, &[10_000, 20_000]).await;
    let price_cursor = app
        .list("sort=price_asc&limit=1")
        .await
        .next_cursor
        .expect("a next page");

    for query in [
        "cursor=not-a-cursor".to_owned(),
        "cursor=%7B%7D".to_owned(),
        format!("cursor={price_cursor}"),
    ] {
        let response = app.get(&format!("/products?{query}"), None).await;

        let problem = response.assert_invalid_fields(&["cursor"]);
        assert_eq!(field_code(&problem, "cursor"), "invalid", "{query}");
    }
}

#[tokio::test]
async fn list_refuses_an_unknown_query_parameter() {
    let app = TestApp::spawn().await;

    let response = app.get("/products?colour=indigo", None).await;

    let problem = response.assert_invalid_fields(&["colour"]);
    assert_eq!(field_code(&problem, "colour"), "unknown_field");
    app.get("/products?category=spaceships", None)
        .await
        .assert_invalid_fields(&["category"]);
}

#[tokio::test]
async fn cursor_paging_visits_every_product_once_even_as_new_ones_are_listed() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            app.create_product(
                &app.artisan(),
                json!({"title": format!("Pattachitra scroll {i}")}),
            )
            .await
            .id,
        );
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".to_owned(),
        };
        let page = app.list(&query).await;
        pages += 1;
        seen.extend(ids(&page));
        // Newer products arrive between pages: they sort before the cursor.
        app.create_product(
            &app.artisan(),
            json!({"title": format!("Late arrival {pages}")}),
        )
        .await;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }

    assert_eq!(seen, newest_first);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "no product twice"
    );
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn price_paging_with_equal_prices_visits_each_product_once() {
    let app = TestApp::spawn().await;
    let created = products_priced(&app, &[10_000, 10_000, 10_000, 20_000, 10_000]).await;

    let seen = every_page(&app, "sort=price_asc&limit=2", 10)
        .await
        .concat();

    assert_eq!(sorted(seen.clone()), sorted(created.clone()));
    assert_eq!(seen.last(), Some(&created[3]), "the dearest comes last");
}

#[tokio::test]
async fn filters_combine_freely_and_sparse_matches_page_with_a_bounded_read() {
    let app = TestApp::spawn().await;
    // Twelve products, oldest first; silk at 1, 6 and 11, Rajasthan pottery
    // at the even ones, prices rising.
    let mut created = Vec::new();
    for i in 0..12_i64 {
        let materials = if i % 5 == 1 { ["silk"] } else { ["cotton"] };
        let mut overrides = json!({
            "title": format!("Bagru print {i}"),
            "materials": materials,
            "price": {"amount": 10_000 + i * 1_000, "currency": "INR"},
        });
        if i % 2 == 0 {
            overrides["category"] = json!("pottery");
            overrides["subcategory"] = json!("vase");
            overrides["region"] = json!("Rajasthan");
        }
        created.push(app.create_product(&app.artisan(), overrides).await.id);
    }

    // Every filter at once, on each sort: the store applies some, the
    // service the rest.
    let all = "category=pottery&subcategory=vase&region=Rajasthan&material=cotton\
               &min_price=12000&max_price=18000";
    let expected: Vec<String> = [8, 4, 2].iter().map(|&i| created[i].clone()).collect();
    assert_eq!(ids(&app.list(all).await), expected);
    assert_eq!(
        ids(&app.list(&format!("{all}&sort=price_asc")).await),
        expected.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&app
            .list(&format!("{all}&sort=price_desc&artisan={ARTISAN}"))
            .await),
        expected
    );

    // Cotton is three products in four: pages fill, ending part-way
    // through a read, and the next one starts just after.
    let pages = every_page(&app, "material=cotton&limit=4", 6).await;
    let cotton: Vec<String> = (0..12)
        .rev()
        .filter(|i| i % 5 != 1)
        .map(|i| created[i].clone())
        .collect();
    assert_eq!(pages.concat(), cotton);
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>()[..2],
        [4, 4],
        "full pages"
    );

    // Silk is one product in five: a page of one reads at most four, so
    // some pages are empty, yet following the cursor finds each once.
    let pages = every_page(&app, "material=silk&limit=1", 12).await;
    assert!(pages.iter().all(|p| p.len() <= 1));
    // The last page may be empty anyway: only those before it count.
    let empty_pages = pages[..pages.len() - 1]
        .iter()
        .filter(|p| p.is_empty())
        .count();
    assert_eq!(
        pages.concat(),
        [&created[11], &created[6], &created[1]]
            .map(String::clone)
            .to_vec()
    );
    assert!(empty_pages > 0, "the gaps of four take an empty page each");
}
