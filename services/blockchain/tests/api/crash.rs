//! A crash between signing and recording: the service's own binary aborts
//! at a chosen point of a payment (as a SIGKILL would stop it) and is
//! started again over the same data directory and chain. The payment is
//! finished from what was stored, with the transaction signed before the
//! crash, and paid once.

use std::process::Stdio;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use blockchain::domain::contracts::{DevRupee, FairPay};
use blockchain::domain::payments::{Payment, PaymentState};
use common::Role;
use http::StatusCode;
use serde_json::Value;
use testkit::FakeAuthApi;
use tokio::process::{Child, Command};

use crate::helpers::*;

struct Harness {
    dir: tempfile::TempDir,
    chain: TestNode,
    auth: FakeAuthApi,
    jwks_url: String,
    port: u16,
    http: reqwest::Client,
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let chain = TestNode::start(dir.path()).await;
        let auth = FakeAuthApi::new().unwrap();
        let jwks = serde_json::to_value(auth.jwks()).unwrap();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let jwks_url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Harness {
            dir,
            chain,
            auth,
            jwks_url,
            port,
            http: reqwest::Client::new(),
        }
    }

    /// The service's binary over this data directory and chain.
    async fn start(&self, crash_point: &str) -> Child {
        let child = Command::new(env!("CARGO_BIN_EXE_blockchain"))
            .env("CRAFTCHAIN_DATA_DIR", self.dir.path())
            .env("CRAFTCHAIN_BLOCKCHAIN_PORT", self.port.to_string())
            .env("CRAFTCHAIN_IDENTITY__JWKS_URL", &self.jwks_url)
            .env(
                "CRAFTCHAIN_BLOCKCHAIN_CHAIN__RPC_URL",
                self.chain.url().as_str(),
            )
            .env("CRAFTCHAIN_BLOCKCHAIN_CHAIN__DEV_CHAIN", "true")
            .env("CRAFTCHAIN_BLOCKCHAIN_CRASH_POINT", crash_point)
            .env("CRAFTCHAIN_BLOCKCHAIN_RECONCILE_INTERVAL_MS", "200")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let health = format!("{}/health", self.base());
        testkit::eventually(Duration::from_secs(30), "the service is up", || async {
            let r = self.http.get(&health).send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await
        .unwrap();
        child
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn admin(&self) -> String {
        self.auth.token(ADMIN, Role::Admin)
    }

    /// `order.paid` for the order, pushed as the relay would: the receipt a
    /// payout needs.
    async fn received(&self) {
        let paid = events::v1::OrderPaid {
            order_id: "ord-crash".to_owned(),
            provider: "sandbox".to_owned(),
            payment_id: "pay_crash".to_owned(),
            received: Some(common::money::Money::inr(50_000).into()),
            ..Default::default()
        };
        let body = events::PushRequest::for_event("paid-crash", "test", "ord-crash", &paid);
        let answer = self
            .http
            .post(format!("{}/events/push", self.base()))
            .bearer_auth(self.auth.token("svc-product", Role::Service))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
    }

    async fn pay(&self) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/blockchain/execute-payment", self.base()))
            .bearer_auth(self.admin())
            .json(&payment("ord-crash", 50_000))
            .send()
            .await
    }

    /// The payment as stored (read while the service is down).
    async fn stored(&self) -> Payment {
        service_store(self.dir.path())
            .collection::<Payment>()
            .get("ord-crash")
            .await
            .unwrap()
            .expect("the payment was recorded before the crash")
            .value
    }

    async fn view<C: SolCall>(&self, to: Address, call: C) -> C::Return {
        view(&self.chain.url(), to, call).await
    }

    async fn events(&self, fair_pay: Address) -> usize {
        payment_events(&self.chain.url(), fair_pay, "ord-crash").await
    }
}

async fn crash_then_recover(point: &str, broadcast_before_crash: bool) {
    let h = Harness::new().await;
    let mut first = h.start(point).await;
    h.received().await;
    // The process dies mid-request: no answer.
    assert!(
        h.pay().await.is_err(),
        "the service should have died mid-payment"
    );
    let status = first.wait().await.unwrap();
    assert!(!status.success(), "aborted, not exited cleanly");

    let before = h.stored().await;
    assert_eq!(before.state, PaymentState::Signed);
    let signed_hash = before.tx_hash.expect("the signed transaction's hash");
    assert!(before.raw_tx.is_some(), "the signed bytes are kept");
    let d = deployment_in(&service_store(h.dir.path())).await;
    let key = blockchain::domain::hashing::order_key("ord-crash");
    let paid = h.view(d.fair_pay, FairPay::paidCall { orderId: key }).await;
    assert_eq!(paid, broadcast_before_crash);
    assert_eq!(
        h.events(d.fair_pay).await,
        usize::from(broadcast_before_crash)
    );

    // Restarted: the reconciler finishes the payment with the same transaction.
    let _second = h.start("none").await;
    let url = format!("{}/blockchain/payments/ord-crash", h.base());
    let done: Value = testkit::eventually(
        Duration::from_secs(30),
        "the payment reconciled",
        || async {
            let r = h.http.get(&url).bearer_auth(h.admin()).send().await.ok()?;
            let p: Value = r.json().await.ok()?;
            (p["state"] == "confirmed").then_some(p)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        done["tx_hash"],
        signed_hash.to_string(),
        "re-sent, not re-signed"
    );
    assert_eq!(h.events(d.fair_pay).await, 1, "paid once");
    let artisan = address(ARTISAN_WALLET);
    assert_eq!(
        h.view(
            d.payment_token,
            DevRupee::balanceOfCall { account: artisan }
        )
        .await,
        U256::from(45_000)
    );

    // The client's retry answers the same payment.
    let retry = h.pay().await.unwrap();
    assert_eq!(retry.status().as_u16(), StatusCode::OK.as_u16());
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["tx_hash"], done["tx_hash"]);
    assert_eq!(h.events(d.fair_pay).await, 1);
}

#[tokio::test]
async fn killed_after_broadcast_the_payment_is_reconciled_once() {
    crash_then_recover("after_broadcast", true).await;
}

#[tokio::test]
async fn killed_before_broadcast_the_stored_transaction_is_sent_not_signed_again() {
    crash_then_recover("before_broadcast", false).await;
}
