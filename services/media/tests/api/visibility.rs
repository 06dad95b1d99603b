//! One visibility rule (`Media::visible_to`) behind every path that returns
//! a media item or its bytes: its owner, admins and services always;
//! everyone else only while an active product shows it. Walks each route
//! with each role, before, during and after publication.

use http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, photo};

#[tokio::test]
async fn every_route_that_returns_media_follows_the_one_rule_for_every_role() {
    let app = TestApp::spawn().await;
    let item = app.upload_photo(&app.artisan(), photo()).await;
    let roles: [(&str, Option<String>); 6] = [
        ("anonymous", None),
        ("buyer", Some(app.buyer())),
        ("another artisan", Some(app.other_artisan())),
        ("its owner", Some(app.artisan())),
        ("an admin", Some(app.admin())),
        ("a service", Some(app.service_token())),
    ];
    let check = async |stage: &str, published: bool| {
        for (who, token) in &roles {
            let privileged = matches!(*who, "its owner" | "an admin" | "a service");
            let may_see = published || privileged;
            let token = token.as_deref();
            // Metadata (a token is needed at all).
            let meta = app.get(&format!("/media/{}", item.id), token).await;
            let expected = match (token, may_see) {
                (None, _) => StatusCode::UNAUTHORIZED,
                (Some(_), true) => StatusCode::OK,
                (Some(_), false) => StatusCode::NOT_FOUND,
            };
            assert_eq!(meta.status, expected, "metadata: {who}, {stage}");
            // Variant bytes.
            let bytes = app
                .get(&format!("/media/{}/content/thumb.webp", item.id), token)
                .await;
            assert_eq!(
                bytes.status == StatusCode::OK,
                may_see,
                "content: {who}, {stage}"
            );
            if may_see {
                let caching = if published {
                    "public, max-age=31536000, immutable"
                } else {
                    "private, no-store"
                };
                assert_eq!(
                    bytes.header("cache-control"),
                    Some(caching),
                    "{who}, {stage}"
                );
            } else {
                bytes.assert_problem(StatusCode::NOT_FOUND, "not_found");
            }
            // Optimise: only the owner, and a hidden item is not told of.
            if token.is_some() && *who != "its owner" {
                let refused = app
                    .post_json(
                        &format!("/media/{}/optimize", item.id),
                        &json!({"widths": [64], "formats": ["webp"]}),
                        token,
                    )
                    .await;
                let expected = if may_see {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(refused.status, expected, "optimize: {who}, {stage}");
            }
            // The original is never served, to anyone.
            app.get(&format!("/media/{}/content/original", item.id), token)
                .await
                .assert_status(StatusCode::NOT_FOUND);
        }
    };

    check("uploaded", false).await;
    app.show_on_product("p-vis", &[&item.id], "active").await;
    check("on an active product", true).await;
    app.show_on_product("p-vis", &[&item.id], "paused").await;
    check("on a paused product", false).await;
    app.show_on_product("p-vis", &[&item.id], "active").await;
    app.show_on_product("p-vis", &[], "active").await;
    check("taken off the product", false).await;
    // An older event delivered late (another topic, a retry) changes nothing.
    let earlier = chrono::Utc::now() - chrono::Duration::minutes(5);
    app.show_on_product_at("p-vis", &[&item.id], "active", earlier)
        .await;
    check("after a stale event", false).await;
    // Shown by two products, it stays public until neither shows it.
    app.show_on_product("p-a", &[&item.id], "active").await;
    app.show_on_product("p-b", &[&item.id], "active").await;
    app.show_on_product("p-a", &[&item.id], "deleted").await;
    check("on one of two products", true).await;
}
