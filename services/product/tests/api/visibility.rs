//! One visibility rule (`Product::visible_to`) behind every route that
//! returns a product: an active product to everyone, a paused one to its
//! artisan and admins, a deleted one to admins; a service with its own
//! token sees what the public sees. Walks each route with each role.

use common::identity::Role;
use http::StatusCode;
use serde_json::{Value, json};
use testkit::users::{ADMIN, SERVICE};

use crate::helpers::{ARTISAN, BUYER, OTHER_ARTISAN, TestApp};

/// Who asks.
const ROLES: [(&str, Option<(&str, Role)>); 6] = [
    ("anonymous", None),
    ("buyer", Some((BUYER, Role::Buyer))),
    ("another artisan", Some((OTHER_ARTISAN, Role::Artisan))),
    ("its artisan", Some((ARTISAN, Role::Artisan))),
    ("an admin", Some((ADMIN, Role::Admin))),
    ("a service", Some((SERVICE, Role::Service))),
];

/// Whether `who` may see a product in `status`: the rule, written out.
fn expected(status: &str, who: &str) -> bool {
    match status {
        "active" => true,
        "paused" => matches!(who, "its artisan" | "an admin"),
        "deleted" => who == "an admin",
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_route_that_returns_a_product_follows_the_one_rule_for_every_role() {
    let app = TestApp::spawn().await;
    let mut products = Vec::new();
    for (status, title) in [
        ("active", "Kantha stole active"),
        ("paused", "Kantha stole paused"),
        ("deleted", "Kantha stole deleted"),
    ] {
        let id = app
            .create_product(&app.artisan(), json!({ "title": title }))
            .await
            .id;
        let path = format!("/products/{id}");
        match status {
            "paused" => {
                let etag = app.get(&path, Some(&app.artisan())).await.etag();
                let mut builder =
                    testkit::http::request(http::Method::PATCH, &path, Some(&app.artisan()))
                        .header("if-match", etag);
                builder = builder.header("content-type", "application/json");
                app.send(testkit::http::json(builder, &json!({ "status": "paused" })))
                    .await
                    .assert_status(StatusCode::OK);
            }
            "deleted" => {
                app.delete(&path, Some(&app.artisan()))
                    .await
                    .assert_status(StatusCode::NO_CONTENT);
            }
            _ => {}
        }
        products.push((status, id));
    }

    for (who, identity) in ROLES {
        let token = identity.map(|(uid, role)| app.token(uid, role));
        let token = token.as_deref();
        for (status, id) in &products {
            let visible = expected(status, who);
            let case = format!("{who} / {status}");

            // Detail.
            let detail = app.get(&format!("/products/{id}"), token).await;
            assert_eq!(detail.status == StatusCode::OK, visible, "detail: {case}");
            if !visible {
                detail.assert_problem(StatusCode::NOT_FOUND, "not_found");
            }

            // Engagement counters come with a like, on what one may see and
            // is not deleted.
            if token.is_some() && who != "a service" {
                let like = app.put(&format!("/products/{id}/like"), token).await;
                let may_like = visible && *status != "deleted";
                assert_eq!(like.status == StatusCode::OK, may_like, "like: {case}");
            }
        }

        // Lists and search: the paused listing only to its artisan (asking
        // for their own), admins and services; never anyone else's paused
        // product, never a deleted one.
        for (status, listing) in [
            ("active", format!("/products?artisan={ARTISAN}")),
            (
                "paused",
                format!("/products?artisan={ARTISAN}&status=paused"),
            ),
        ] {
            let listed = app.get(&listing, token).await;
            let search = app
                .post_json(
                    "/products/search",
                    &json!({"query": "kantha", "filters": {"artisan": ARTISAN, "status": status}}),
                    token,
                )
                .await;
            let may_list = expected(status, who);
            for (route, response, items) in
                [("list", &listed, "/items"), ("search", &search, "/items")]
            {
                if !may_list {
                    response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
                    continue;
                }
                response.assert_status(StatusCode::OK);
                let shown: Vec<String> = response
                    .body
                    .pointer(items)
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| {
                        let p = i.get("product").unwrap_or(i);
                        p["id"].as_str().unwrap().to_owned()
                    })
                    .collect();
                let want: Vec<String> = products
                    .iter()
                    .filter(|(s, _)| *s == status)
                    .map(|(_, id)| id.clone())
                    .collect();
                assert_eq!(shown, want, "{route}: {who} / {status}");
            }
        }
    }
}

#[tokio::test]
async fn anonymous_search_cannot_ask_for_paused_products() {
    let app = TestApp::spawn().await;
    let response = app
        .search(&json!({"query": "kantha", "filters": {"status": "paused"}}))
        .await;
    response.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let _: Value = response.body;
}
