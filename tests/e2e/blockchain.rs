//! Provenance and fair pay through the gateway, with real tokens, real
//! services and the blockchain service's own anvil: an artisan mints a
//! product's certificate that anyone can verify; an order paid through the
//! sandbox and completed is paid out on chain once, and the payout lands
//! on the order.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::AuthApi;

use crate::{ARTISAN_WALLET, send};

#[tokio::test]
async fn an_artisan_mints_provenance_and_a_completed_order_is_paid_out_once() {
    let (system, gw, auth) =
        crate::through_gateway(&["gateway", "auth", "product", "blockchain"]).await;
    let http = reqwest::Client::new();
    let artisan = auth.new_user("artisan").await.unwrap();
    let buyer = auth.new_user("buyer").await.unwrap();

    // The artisan adds a wallet to their profile.
    crate::add_artisan_wallet(&http, &gw, &artisan).await;

    let product = crate::create_product(&http, &gw, &artisan.id_token, &json!({
            "title": "Bidri inlay box",
            "description": {"en": "Zinc alloy box with silver inlay."},
            "category": "metalwork", "subcategory": "bidri",
            "price": {"amount": 480000, "currency": "INR"},
            "materials": ["zinc alloy", "silver"], "region": "Bidar, Karnataka", "craft_tradition": "Bidriware"
        })).await;
    let product_id = product["id"].as_str().unwrap().to_owned();

    // Minting needs a token; the buyer may not mint the artisan's product.
    let (status, _) = send(
        http.post(format!("{gw}/blockchain/mint-provenance"))
            .json(&json!({"product_id": product_id})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        http.post(format!("{gw}/blockchain/mint-provenance"))
            .bearer_auth(&buyer.id_token)
            .json(&json!({"product_id": product_id})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, minted) = send(
        http.post(format!("{gw}/blockchain/mint-provenance"))
            .bearer_auth(&artisan.id_token)
            .json(&json!({"product_id": product_id})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    assert_eq!(minted["owner"], ARTISAN_WALLET);
    let token_id = minted["token_id"].as_str().unwrap().to_owned();

    // Anyone can verify it, without a token.
    let (status, proof) = send(http.get(format!("{gw}/blockchain/provenance/{token_id}"))).await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    assert_eq!(proof["status"], "verified");
    assert_eq!(proof["product_id"], product_id.as_str());
    assert_eq!(
        proof["fair_wage"],
        json!({"amount": "432000", "currency": "INR"})
    );
    let (status, meta) = send(http.get(format!("{gw}/blockchain/metadata/{token_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(meta["name"].as_str().unwrap().contains("Bidri inlay box"));

    // The buyer orders; the order goes to completed.
    let (status, order) = send(
        http.post(format!("{gw}/orders"))
            .bearer_auth(&buyer.id_token)
            .header("idempotency-key", "bidri-1")
            .json(&json!({"product_id": product_id, "quantity": 1, "shipping_address": {
                "name": "Anita Rao", "line1": "12 MG Road", "city": "Bengaluru", "state": "Karnataka",
                "postal_code": "560001", "country": "IN", "phone": "+919845012345"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    crate::money::pay_with_sandbox(&http, &gw, &buyer.id_token, &order_id).await;
    crate::money::complete(&http, &gw, &artisan.id_token, &buyer.id_token, &order_id).await;

    // order.completed → the blockchain service pays the split on chain →
    // payment.executed → the product service records the payout.
    let paid: Value = testkit::eventually(
        Duration::from_secs(60),
        "the payout on the order",
        || async {
            let (_, o) = send(
                http.get(format!("{gw}/orders/{order_id}"))
                    .bearer_auth(&buyer.id_token),
            )
            .await;
            (!o["payout"].is_null()).then_some(o)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        paid["payout"]["artisan_share"],
        json!({"amount": 432000, "currency": "INR"})
    );
    let tx_hash = paid["payout"]["tx_hash"].as_str().unwrap().to_owned();

    // The artisan's wallet shows the payout, once.
    let (status, wallet) = send(
        http.get(format!("{gw}/blockchain/wallet/{ARTISAN_WALLET}/balance"))
            .bearer_auth(&artisan.id_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{wallet}");
    assert_eq!(wallet["tokens"][0]["balance"], "432000");
    let payouts: Vec<&Value> = wallet["recent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "payout")
        .collect();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0]["tx_hash"], tx_hash.as_str());
    assert!(
        wallet["recent"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "provenance-transfer")
    );

    // Editing what the certificate is about shows as a mismatch.
    let current = http
        .get(format!("{gw}/products/{product_id}"))
        .send()
        .await
        .unwrap();
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let (status, _) = send(
        http.patch(format!("{gw}/products/{product_id}"))
            .bearer_auth(&artisan.id_token)
            .header("if-match", etag)
            .json(&json!({"materials": ["brass"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, proof) = send(http.get(format!("{gw}/blockchain/provenance/{token_id}"))).await;
    assert_eq!(proof["status"], "mismatch");
    system.stop().await.unwrap();
}
