//! Money in, then money out, through the gateway with real tokens: a buyer
//! pays (through the sandbox, or by depositing into the escrow from a
//! wallet), the artisan ships, the buyer confirms delivery, and the payout
//! on chain is exactly what was paid. An order nobody paid for never
//! reaches the artisan's wallet.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall as _;
use blockchain::domain::chain::Chain;
use blockchain::domain::contracts::{DevRupee, FairPay};
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::AuthApi;

use crate::send;

/// anvil's sixth dev account: the buyer's wallet.
const BUYER_KEY: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const BUYER_WALLET: &str = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

/// Pay order `id` through the sandbox as its buyer: a checkout, then the
/// sandbox's "succeed", which delivers a signed webhook to the product
/// service; the order is then paid.
pub(crate) async fn pay_with_sandbox(http: &reqwest::Client, gw: &str, buyer: &str, id: &str) {
    let (status, checkout) = send(
        http.post(format!("{gw}/orders/{id}/checkout"))
            .bearer_auth(buyer)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{checkout}");
    assert_eq!(checkout["provider"], "sandbox");
    let succeed = checkout["sandbox"]["succeed"].as_str().unwrap().to_owned();
    let (status, delivered) = send(
        http.post(format!("{gw}{succeed}"))
            .bearer_auth(buyer)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{delivered}");
    assert_eq!(delivered["webhook_status"], 200);
    let (_, order) = send(http.get(format!("{gw}/orders/{id}")).bearer_auth(buyer)).await;
    assert_eq!(order["status"], "paid", "{order}");
}

/// An artisan with a wallet and a product at `paise`, and a buyer; the
/// product's id.
async fn listed(
    http: &reqwest::Client,
    gw: &str,
    auth: &testkit::HttpAuthApi,
    paise: i64,
) -> (testkit::TestUser, testkit::TestUser, String) {
    let artisan = auth.new_user("artisan").await.unwrap();
    let buyer = auth.new_user("buyer").await.unwrap();
    crate::add_artisan_wallet(http, gw, &artisan).await;
    let product = crate::create_product(
        http,
        gw,
        &artisan.id_token,
        &json!({
            "title": "Pattachitra scroll", "description": {"en": "Painted cloth scroll."},
            "category": "painting", "subcategory": "scroll",
            "price": {"amount": paise, "currency": "INR"}, "materials": ["cloth"]
        }),
    )
    .await;
    (artisan, buyer, product["id"].as_str().unwrap().to_owned())
}

/// `buyer` orders one of `product`, shipped to Bengaluru, under the
/// idempotency key `key`; the order's id (201 asserted).
pub(crate) async fn order(
    http: &reqwest::Client,
    gw: &str,
    buyer: &str,
    product: &str,
    key: &str,
) -> String {
    let (status, order) = send(
        http.post(format!("{gw}/orders"))
            .bearer_auth(buyer)
            .header("idempotency-key", key)
            .json(&json!({"product_id": product, "quantity": 1, "shipping_address": {
                "name": "Anita Rao", "line1": "12 MG Road", "city": "Bengaluru", "state": "Karnataka",
                "postal_code": "560001", "country": "IN", "phone": "+919845012345"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

/// Order `id` shipped by its artisan, then delivered and completed by its
/// buyer, each step answered 200.
pub(crate) async fn complete(
    http: &reqwest::Client,
    gw: &str,
    artisan: &str,
    buyer: &str,
    id: &str,
) {
    for (who, to) in [
        (artisan, "shipped"),
        (buyer, "delivered"),
        (buyer, "completed"),
    ] {
        let (status, body) = send(
            http.post(format!("{gw}/orders/{id}/status"))
                .bearer_auth(who)
                .json(&json!({"status": to})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{to}: {body}");
    }
}

/// shipped → delivered → completed, then the payout recorded on the order.
async fn complete_and_await_payout(
    http: &reqwest::Client,
    gw: &str,
    artisan: &str,
    buyer: &str,
    id: &str,
) -> Value {
    complete(http, gw, artisan, buyer, id).await;
    testkit::eventually(
        Duration::from_secs(60),
        "the payout on the order",
        || async {
            let (_, o) = send(http.get(format!("{gw}/orders/{id}")).bearer_auth(buyer)).await;
            (!o["payout"].is_null()).then_some(o)
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_buyer_pays_into_escrow_from_a_wallet_and_the_payout_is_the_deposit() {
    let (system, gw, auth) =
        crate::through_gateway(&["gateway", "auth", "product", "blockchain"]).await;
    let http = reqwest::Client::new();
    let (artisan, buyer, product) = listed(&http, &gw, &auth, 120_000).await;
    let id = order(&http, &gw, &buyer.id_token, &product, "escrow-1").await;

    // The buyer's wallet gets test rupees from the dev chain's faucet.
    let (status, funded) = send(
        http.post(format!("{gw}/blockchain/faucet"))
            .bearer_auth(&buyer.id_token)
            .json(&json!({"address": BUYER_WALLET, "amount": 200_000})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{funded}");
    let (status, checkout) = send(
        http.post(format!("{gw}/orders/{id}/checkout"))
            .bearer_auth(&buyer.id_token)
            .json(&json!({"provider": "escrow"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{checkout}");
    let terms = &checkout["escrow"];
    assert_eq!(terms["token_amount"], "120000");

    // The wallet approves and deposits, as a buyer's wallet app would.
    let rpc = terms["rpc_url"].as_str().unwrap().parse().unwrap();
    let mut settings = blockchain::Settings::default().chain;
    settings.receipt_timeout_ms = 10_000;
    let wallet = Chain::new(rpc, &BUYER_KEY.to_owned().into(), &settings).unwrap();
    let token: Address = terms["token"].as_str().unwrap().parse().unwrap();
    let contract: Address = terms["contract"].as_str().unwrap().parse().unwrap();
    let approve = DevRupee::approveCall {
        spender: contract,
        value: U256::MAX,
    };
    assert!(
        wallet
            .transact(Some(token), approve.abi_encode().into())
            .await
            .unwrap()
            .succeeded()
    );
    let deposit = FairPay::depositCall {
        orderId: terms["order_key"].as_str().unwrap().parse().unwrap(),
        token,
        amount: U256::from(120_000u64),
    };
    assert!(
        wallet
            .transact(Some(contract), deposit.abi_encode().into())
            .await
            .unwrap()
            .succeeded()
    );

    // The deposit, confirmed on chain, pays the order.
    testkit::eventually(
        Duration::from_secs(30),
        "the order paid by its deposit",
        || async {
            let (_, o) = send(
                http.get(format!("{gw}/orders/{id}"))
                    .bearer_auth(&buyer.id_token),
            )
            .await;
            (o["status"] == "paid").then_some(())
        },
    )
    .await
    .unwrap();
    let paid = complete_and_await_payout(&http, &gw, &artisan.id_token, &buyer.id_token, &id).await;
    assert_eq!(
        paid["payout"]["amount"],
        json!({"amount": 120000, "currency": "INR"}),
        "the deposit"
    );
    assert_eq!(
        paid["payout"]["artisan_share"],
        json!({"amount": 108000, "currency": "INR"})
    );
    assert_eq!(paid["receipts"][0]["provider"], "escrow");
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_sandbox_payment_is_what_the_payout_pays() {
    let (system, gw, auth) =
        crate::through_gateway(&["gateway", "auth", "product", "blockchain"]).await;
    let http = reqwest::Client::new();
    let (artisan, buyer, product) = listed(&http, &gw, &auth, 75_050).await;
    let id = order(&http, &gw, &buyer.id_token, &product, "sandbox-1").await;

    // Nobody may call it paid; the sandbox's confirmation does.
    let (status, _) = send(
        http.post(format!("{gw}/orders/{id}/status"))
            .bearer_auth(&buyer.id_token)
            .json(&json!({"status": "paid"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    pay_with_sandbox(&http, &gw, &buyer.id_token, &id).await;
    let paid = complete_and_await_payout(&http, &gw, &artisan.id_token, &buyer.id_token, &id).await;
    assert_eq!(
        paid["receipts"][0]["amount"],
        json!({"amount": 75050, "currency": "INR"})
    );
    assert_eq!(
        paid["payout"]["amount"], paid["receipts"][0]["amount"],
        "what was paid, paid out"
    );
    system.stop().await.unwrap();
}
