//! Through the gateway, with real tokens from the real auth service: the
//! only door clients use.

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{AuthApi, HttpAuthApi};

use crate::system::TestSystem;

async fn system() -> (TestSystem, String, HttpAuthApi) {
    crate::through_gateway(&["gateway", "auth", "product"]).await
}

#[tokio::test]
async fn an_artisan_lists_a_product_and_a_buyer_finds_and_orders_it() {
    let (system, gw, auth) = system().await;
    let http = reqwest::Client::new();
    let artisan = auth.new_user("artisan").await.unwrap();
    let buyer = auth.new_user("buyer").await.unwrap();

    let created: Value = http
        .post(format!("{gw}/products"))
        .bearer_auth(&artisan.id_token)
        .json(&json!({
            "title": "Kantha stitched silk stole",
            "description": {"en": "Hand-stitched kantha on silk.", "hi": "रेशम पर हाथ से की गई कांथा कढ़ाई"},
            "category": "textiles", "subcategory": "stole",
            "price": {"amount": 349900, "currency": "INR"},
            "materials": ["Silk", "cotton thread"], "region": "West Bengal", "craft_tradition": "Kantha"
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["artisan_id"], artisan.uid.as_str());
    assert_eq!(created["ai"]["status"], "pending");

    // Public reads need no token; search finds the Hindi word.
    let page: Value = http
        .get(format!("{gw}/products?category=textiles"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == id.as_str())
    );
    let found: Value = http
        .post(format!("{gw}/products/search"))
        .json(&json!({"query": "कांथा"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"][0]["product"]["id"], id.as_str(), "{found}");

    // Orders need a token, and the key makes a retry safe.
    let order = json!({"product_id": id, "quantity": 2, "shipping_address": {
        "name": "Asha", "line1": "12 Park Street", "city": "Kolkata", "state": "WB",
        "postal_code": "700016", "country": "IN", "phone": "+91 98300 12345"}});
    let anonymous = http
        .post(format!("{gw}/orders"))
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let place = || {
        http.post(format!("{gw}/orders"))
            .bearer_auth(&buyer.id_token)
            .header("idempotency-key", "order-1")
            .json(&order)
            .send()
    };
    let first = place().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["total"]["amount"], 699_800);
    let again = place().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);

    // The artisan sees it among received orders.
    let received: Value = http
        .get(format!("{gw}/orders?role=artisan"))
        .bearer_auth(&artisan.id_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(received["items"][0]["id"], first["id"]);
    system.stop().await.unwrap();
}

#[tokio::test]
async fn the_gateway_refuses_what_clients_must_not_reach() {
    let (system, gw, auth) = system().await;
    let http = reqwest::Client::new();
    let user = auth.new_user("buyer").await.unwrap();
    for path in [
        "/auth/service-token",
        "/events/push",
        "/admin/events/dead-letters",
        "/nothing/here",
    ] {
        let r = http
            .post(format!("{gw}{path}"))
            .bearer_auth(&user.id_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let forged = format!("{}x", user.id_token);
    let r = http
        .get(format!("{gw}/auth/me"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let me: Value = http
        .get(format!("{gw}/auth/me"))
        .bearer_auth(&user.id_token)
        .header("x-user-id", "someone-else")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user.uid.as_str());
    let again = auth.login(&user.email, &user.password).await.unwrap();
    assert!(!again.id_token.is_empty());
    system.stop().await.unwrap();
}

/// Revocation takes effect everywhere within seconds: the auth service at
/// once, the gateway and the product service as `user.tokens_revoked`
/// reaches them — a cached check, no call per request.
#[tokio::test]
async fn signing_out_everywhere_voids_the_token_at_the_gateway_and_every_service_within_seconds() {
    let (system, gw, auth) = system().await;
    let http = reqwest::Client::new();
    let buyer = auth.new_user("buyer").await.unwrap();
    let product = system.url("product").join("orders").unwrap();
    let status = |url: String, token: String| {
        let http = http.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        status(format!("{gw}/orders"), buyer.id_token.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        status(product.to_string(), buyer.id_token.clone()).await,
        StatusCode::OK
    );
    // Tokens carry whole seconds: revoke in a later second than the issue.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let signed_out = http
        .post(format!("{gw}/auth/logout-all"))
        .bearer_auth(&buyer.id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    let revoked_at = std::time::Instant::now();

    for url in [format!("{gw}/orders"), product.to_string()] {
        testkit::eventually(
            std::time::Duration::from_secs(10),
            "the revoked token refused",
            || {
                let (url, token) = (url.clone(), buyer.id_token.clone());
                let status = &status;
                async move { (status(url, token).await == StatusCode::UNAUTHORIZED).then_some(()) }
            },
        )
        .await
        .unwrap();
    }
    eprintln!(
        "revocation took effect everywhere in {:?}",
        revoked_at.elapsed()
    );
    // A fresh sign-in works again.
    let again = auth.login(&buyer.email, &buyer.password).await.unwrap();
    assert_eq!(
        status(format!("{gw}/orders"), again.id_token).await,
        StatusCode::OK
    );
}
