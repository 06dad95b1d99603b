//! Bounded work per request, per create/update endpoint: the largest legal
//! body is served, the smallest illegal one and a huge one (near the 1 MB
//! body limit) are refused before any per-element work, within a constant
//! factor of the largest legal one's time (`testkit::bounds`).

use std::sync::atomic::{AtomicUsize, Ordering};

use http::Method;
use serde_json::{Value, json};
use testkit::bounds::{Prepared, Probes, timed};

use crate::helpers::{ARTISAN, TestApp, order_body, product_body};

/// `n` distinct materials of `len` characters each.
fn materials(n: usize, len: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:0>len$}")).collect()
}

/// A description in every language, each `chars` characters of its script.
fn descriptions(chars: usize) -> Value {
    let text = |c: char| std::iter::repeat_n(c, chars).collect::<String>();
    json!({
        "en": text('a'), "hi": text('क'), "bn": text('ক'),
        "ta": text('க'), "te": text('క'), "mr": text('म'),
    })
}

/// The largest `POST /products` body: every list and string at its bound.
fn largest(media: &[String]) -> Value {
    product_body(json!({
        "title": "t".repeat(150),
        "description": descriptions(5000),
        "subcategory": "s".repeat(60),
        "materials": materials(20, 60),
        "region": "r".repeat(80),
        "craft_tradition": "c".repeat(120),
        "media_ids": media,
    }))
}

/// `largest` with `field` replaced.
fn with(media: &[String], field: &str, value: Value) -> Value {
    let mut body = largest(media);
    body[field] = value;
    body
}

#[tokio::test]
async fn create_and_update_refuse_past_every_bound_before_per_element_work() {
    let app = TestApp::spawn().await;
    let media: Vec<String> = (0..20).map(|i| format!("img-{i}")).collect();
    for id in &media {
        app.media.add(id, ARTISAN);
    }
    let token = app.artisan();
    let post = |body: Value| {
        let prepared = Prepared::json(Method::POST, "/products", Some(&token), &body);
        let app = &app;
        move || {
            let request = prepared.request(&[]);
            async move { app.send(request).await }
        }
    };
    let over_media: Vec<String> = (0..21).map(|i| format!("img-{i}")).collect();
    for (endpoint, field, over, huge) in [
        (
            "POST /products materials",
            "materials",
            json!(materials(21, 8)),
            json!(vec!["m"; 150_000]),
        ),
        (
            "POST /products media_ids",
            "media_ids",
            json!(over_media),
            json!(vec!["x"; 150_000]),
        ),
        (
            "POST /products title",
            "title",
            json!("t".repeat(151)),
            json!("t".repeat(900_000)),
        ),
    ] {
        Probes {
            endpoint,
            largest_legal: timed(post(largest(&media))).await,
            smallest_illegal: timed(post(with(&media, field, over))).await,
            huge_illegal: timed(post(with(&media, field, huge))).await,
            field,
        }
        .check();
    }

    // PATCH: the description map and its texts.
    let product = app.create_product(&token, json!({})).await;
    let path = format!("/products/{}", product.id);
    let patch = |body: Value| {
        let prepared = Prepared::json(Method::PATCH, &path, Some(&token), &body);
        let (app, token, path) = (&app, &token, &path);
        move || {
            let prepared = prepared.clone();
            async move {
                let etag = app.get(path, Some(token)).await.etag();
                app.send(prepared.request(&[("if-match", &etag)])).await
            }
        }
    };
    let mut over = descriptions(5000);
    over["en"] = json!("a".repeat(5001));
    let mut many = serde_json::Map::new();
    for i in 0..60_000 {
        many.insert(format!("l{i}"), json!("x"));
    }
    Probes {
        endpoint: "PATCH /products description",
        largest_legal: timed(patch(json!({ "description": descriptions(5000) }))).await,
        smallest_illegal: timed(patch(json!({ "description": over }))).await,
        huge_illegal: timed(patch(json!({ "description": many }))).await,
        field: "description.en",
    }
    .check();
}

#[tokio::test]
async fn orders_and_search_refuse_past_every_bound() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let buyer = app.buyer();
    static KEY: AtomicUsize = AtomicUsize::new(0);
    let order = |name: String| {
        let mut body = order_body(&product.id, 1);
        body["shipping_address"]["name"] = json!(name);
        body["shipping_address"]["line1"] = json!("l".repeat(200));
        body["shipping_address"]["line2"] = json!("l".repeat(200));
        body["shipping_address"]["phone"] = json!(format!("{:<32}", "+91 98450 12345"));
        let prepared = Prepared::json(Method::POST, "/orders", Some(&buyer), &body);
        let app = &app;
        move || {
            let key = format!("bounds-{}", KEY.fetch_add(1, Ordering::Relaxed));
            let request = prepared.request(&[("idempotency-key", &key)]);
            async move { app.send(request).await }
        }
    };
    Probes {
        endpoint: "POST /orders",
        largest_legal: timed(order("n".repeat(100))).await,
        smallest_illegal: timed(order("n".repeat(101))).await,
        huge_illegal: timed(order("n".repeat(900_000))).await,
        field: "shipping_address.name",
    }
    .check();

    let search = |query: String| {
        let body = json!({"query": query, "filters": {
            "subcategory": "s".repeat(60), "region": "r".repeat(80), "material": "m".repeat(60)}});
        let prepared = Prepared::json(Method::POST, "/products/search", None, &body);
        let app = &app;
        move || {
            let request = prepared.request(&[]);
            async move { app.send(request).await }
        }
    };
    Probes {
        endpoint: "POST /products/search",
        largest_legal: timed(search("क".repeat(500))).await,
        smallest_illegal: timed(search("क".repeat(501))).await,
        huge_illegal: timed(search("क".repeat(300_000))).await,
        field: "query",
    }
    .check();
}
