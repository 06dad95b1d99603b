//! Likes, shares and views: once per user, channels checked, views counted
//! in memory and written by the flush without touching the product.

use std::time::Duration;

use common::identity::Role;
use http::StatusCode;
use product::domain::products::ProductView;
use product::routes::engagement::Counters;
use serde_json::json;

use crate::helpers::{ARTISAN, TestApp};

#[tokio::test]
async fn a_user_likes_a_product_once() {
    let app = TestApp::spawn().await;
    let id = app.create_product(&app.artisan(), json!({})).await.id;
    let path = format!("/products/{id}/like");

    let first = app.put(&path, Some(&app.buyer())).await;
    let again = app.put(&path, Some(&app.buyer())).await;

    first.assert_status(StatusCode::OK);
    let counters: Counters = again.json();
    assert!(counters.liked);
    assert_eq!(counters.engagement.likes, 1);
    assert_eq!(
        app.product(&id)
            .await
            .json::<ProductView>()
            .engagement
            .likes,
        1
    );
}

#[tokio::test]
async fn two_users_make_two_likes_and_an_unlike_takes_one_back() {
    let app = TestApp::spawn().await;
    let id = app.create_product(&app.artisan(), json!({})).await.id;
    let path = format!("/products/{id}/like");
    let other = app.token("buyer-other", Role::Buyer);

    app.put(&path, Some(&app.buyer()))
        .await
        .assert_status(StatusCode::OK);
    let both: Counters = app.put(&path, Some(&other)).await.json();
    let unliked: Counters = app.delete(&path, Some(&app.buyer())).await.json();
    let unliked_again: Counters = app.delete(&path, Some(&app.buyer())).await.json();

    assert_eq!(both.engagement.likes, 2);
    assert!(!unliked.liked);
    assert_eq!(unliked.engagement.likes, 1);
    assert_eq!(
        unliked_again.engagement.likes, 1,
        "unliking again changes nothing"
    );
    assert_eq!(app.list("").await.items[0].engagement.likes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_likes_of_one_user_count_once() {
    let app = TestApp::spawn().await;
    let id = app.create_product(&app.artisan(), json!({})).await.id;
    let path = format!("/products/{id}/like");
    let token = app.buyer();

    let responses = futures::future::join_all((0..6).map(|_| app.put(&path, Some(&token)))).await;

    for response in &responses {
        response.assert_status(StatusCode::OK);
    }
    assert_eq!(
        app.product(&id)
            .await
            .json::<ProductView>()
            .engagement
            .likes,
        1
    );
}

#[tokio::test]
async fn liking_needs_a_token_and_a_visible_product() {
    let app = TestApp::spawn().await;
    let id = app.create_product(&app.artisan(), json!({})).await.id;
    app.delete(&format!("/products/{id}"), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    app.put("/products/no-such-product/like", Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.put(&format!("/products/{id}/like"), Some(&app.buyer()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.put(&format!("/products/{id}/like"), None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn a_share_on_a_known_channel_is_202_and_counted() {
    let app = TestApp::spawn().await;
    let id = app.create_product(&app.artisan(), json!({})).await.id;
    let path = format!("/products/{id}/share");

    let shared = app
        .post_json(&path, &json!({"channel": "whatsapp"}), Some(&app.buyer()))
        .await;
    let unknown = app
        .post_json(
            &path,
            &json!({"channel": "carrier-pigeon"}),
            Some(&app.buyer()),
        )
        .await;

    shared.assert_status(StatusCode::ACCEPTED);
    unknown.assert_invalid_fields(&["channel"]);
    assert_eq!(
        app.product(&id)
            .await
            .json::<ProductView>()
            .engagement
            .shares,
        1
    );
}

#[tokio::test]
async fn views_are_written_by_the_flush_without_changing_the_etag() {
    let app = TestApp::serve().await;
    let created = app
        .post_json(
            "/products",
            &crate::helpers::product_body(json!({})),
            Some(&app.artisan()),
        )
        .await;
    let id = created.json::<ProductView>().id;
    let etag = created.etag();

    for _ in 0..3 {
        let read = app.product(&id).await;
        read.assert_status(StatusCode::OK);
        assert_eq!(read.etag(), etag, "a view does not change the product");
    }

    // The list shows the stored counters and counts no view itself.
    let views = testkit::eventually(
        Duration::from_secs(10),
        "the views to be flushed",
        || async {
            let listed = app.list(&format!("artisan={ARTISAN}")).await;
            let views = listed.items[0].engagement.views;
            (views >= 3).then_some(views)
        },
    )
    .await
    .unwrap();
    assert_eq!(views, 3);
    assert_eq!(
        app.product(&id).await.etag(),
        etag,
        "the flush does not change the product"
    );
}
