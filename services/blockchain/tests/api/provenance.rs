//! Minting, reading back and verifying provenance tokens.

use http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn mint_then_read_back_every_field() {
    let app = TestApp::spawn().await;
    app.product("p1");
    let minted = app
        .post(
            "/blockchain/mint-provenance",
            &app.artisan(),
            &json!({"product_id": "p1"}),
        )
        .await;
    minted.assert_status(StatusCode::CREATED);
    let m: Value = minted.json();
    assert_eq!(m["token_id"], "1");
    // No wallet on the artisan's profile: the platform holds the token.
    let d = app.deployment().await;
    assert_eq!(m["contract"], d.provenance.to_checksum(None));
    assert!(m["tx_hash"].as_str().is_some_and(|h| h.len() == 66));
    assert!(m["block_number"].as_u64().is_some_and(|b| b > 0));

    let read = app.get("/blockchain/provenance/1", None).await;
    read.assert_status(StatusCode::OK);
    let p: Value = read.json();
    assert_eq!(p["status"], "verified");
    assert_eq!(p["product_id"], "p1");
    assert_eq!(p["onchain_hash"], m["product_hash"]);
    assert_eq!(p["current_hash"], m["product_hash"]);
    assert_eq!(p["owner"], m["owner"]);
    assert_eq!(p["materials"], json!(["brass", "beeswax"]));
    assert_eq!(p["cultural_origin"], "Dhokra, Bastar, Chhattisgarh");
    // 90% of ₹2,500.00, in paise.
    assert_eq!(
        p["fair_wage"],
        json!({"amount": "225000", "currency": "INR"})
    );
    assert_eq!(
        p["artisan_id_hash"],
        blockchain::domain::hashing::artisan_id_hash(ARTISAN).to_string()
    );
    assert_eq!(
        p["metadata_uri"],
        "http://127.0.0.1:8000/blockchain/metadata/1"
    );
    assert_eq!(p["tx_hash"], m["tx_hash"]);
    assert!(p["minted_at"].as_str().is_some());

    let meta = app.get("/blockchain/metadata/1", None).await;
    meta.assert_status(StatusCode::OK);
    let meta: Value = meta.json();
    assert!(
        meta["name"]
            .as_str()
            .is_some_and(|n| n.contains("Dokra horse"))
    );
    assert_eq!(meta["external_url"], "http://127.0.0.1:8000/products/p1");
    assert_eq!(
        meta["image"],
        "http://127.0.0.1:8000/media/p1-m1/content/medium.webp"
    );
    let traits: Vec<&str> = meta["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter_map(|a| a["trait_type"].as_str())
        .collect();
    assert!(traits.contains(&"Material") && traits.contains(&"Product hash"));
}

#[tokio::test]
async fn the_token_goes_to_the_artisans_wallet_once_they_have_one() {
    let app = TestApp::spawn().await;
    app.product("p1");
    app.fakes
        .put_wallet(ARTISAN, ARTISAN_WALLET.parse().expect("a wallet"));
    let minted = app
        .post(
            "/blockchain/mint-provenance",
            &app.artisan(),
            &json!({"product_id": "p1"}),
        )
        .await;
    minted.assert_status(StatusCode::CREATED);
    assert_eq!(minted.json::<Value>()["owner"], ARTISAN_WALLET);
}

#[tokio::test]
async fn the_same_product_twice_is_409_with_the_existing_token() {
    let app = TestApp::spawn().await;
    app.product("p1");
    let body = json!({"product_id": "p1"});
    app.post("/blockchain/mint-provenance", &app.artisan(), &body)
        .await
        .assert_status(StatusCode::CREATED);
    let again = app
        .post("/blockchain/mint-provenance", &app.admin(), &body)
        .await;
    let problem = again.assert_problem(StatusCode::CONFLICT, "already_minted");
    assert_eq!(problem.extensions["token"]["token_id"], "1");
    // Only one token exists on chain.
    let d = app.deployment().await;
    let total = app
        .view(
            d.provenance,
            blockchain::domain::contracts::ProvenanceNFT::totalMintedCall {},
        )
        .await;
    assert_eq!(total, alloy::primitives::U256::from(1));
}

#[tokio::test]
async fn changed_product_data_or_photos_are_a_mismatch_and_a_missing_product_says_so() {
    let app = TestApp::spawn().await;
    let mut product = app.product("p1");
    app.post(
        "/blockchain/mint-provenance",
        &app.artisan(),
        &json!({"product_id": "p1"}),
    )
    .await
    .assert_status(StatusCode::CREATED);

    product.materials = vec!["plastic".to_owned()];
    app.fakes.put_product(product.clone());
    let p: Value = app.get("/blockchain/provenance/1", None).await.json();
    assert_eq!(p["status"], "mismatch");
    assert_ne!(p["current_hash"], p["onchain_hash"]);

    product.materials = vec!["brass".to_owned(), "beeswax".to_owned()];
    app.fakes.put_product(product);
    assert_eq!(
        app.get("/blockchain/provenance/1", None)
            .await
            .json::<Value>()["status"],
        "verified"
    );
    app.fakes.put_media("p1-m2", &"ef".repeat(32));
    assert_eq!(
        app.get("/blockchain/provenance/1", None)
            .await
            .json::<Value>()["status"],
        "mismatch"
    );

    app.fakes.remove_product("p1");
    let p: Value = app.get("/blockchain/provenance/1", None).await.json();
    assert_eq!(p["status"], "product-missing");
    assert!(p["current_hash"].is_null());
}

#[tokio::test]
async fn who_may_mint_and_what_is_refused() {
    let app = TestApp::spawn().await;
    app.product("p1");
    let body = json!({"product_id": "p1"});
    let other = app.token(OTHER_ARTISAN, common::Role::Artisan);
    app.post("/blockchain/mint-provenance", &other, &body)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let buyer = app.token(BUYER, common::Role::Buyer);
    app.post("/blockchain/mint-provenance", &buyer, &body)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.post(
        "/blockchain/mint-provenance",
        &app.artisan(),
        &json!({"product_id": "nope"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // The client never supplies the hash.
    app.post(
        "/blockchain/mint-provenance",
        &app.artisan(),
        &json!({"product_id": "p1", "product_hash": "0x00"}),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let unauthenticated = app
        .post_json("/blockchain/mint-provenance", &body, None)
        .await;
    assert_eq!(unauthenticated.status.as_u16(), 401);

    app.get("/blockchain/provenance/7", None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    for bad in ["0", "-1", "abc", "1e3"] {
        app.get(&format!("/blockchain/provenance/{bad}"), None)
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn a_stopped_node_is_503_with_retry_after_then_recovers() {
    let mut app = TestApp::spawn().await;
    app.product("p1");
    app.chain.stop().await;
    let down = app
        .post(
            "/blockchain/mint-provenance",
            &app.artisan(),
            &json!({"product_id": "p1"}),
        )
        .await;
    down.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(down.header("retry-after").is_some());
    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    app.get("/blockchain/provenance/1", None)
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);

    app.chain.restart().await;
    // Nothing was half-recorded: the mint goes through as token 1.
    let minted = app
        .post(
            "/blockchain/mint-provenance",
            &app.artisan(),
            &json!({"product_id": "p1"}),
        )
        .await;
    minted.assert_status(StatusCode::CREATED);
    assert_eq!(minted.json::<Value>()["token_id"], "1");
    // Readiness is checked at most once per READY_TTL: ready again within it.
    tokio::time::sleep(common::serve::READY_TTL).await;
    app.get("/ready", None).await.assert_status(StatusCode::OK);
}
