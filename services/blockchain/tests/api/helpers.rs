//! The test app: the blockchain service served on a free port (its
//! reconciler running), against a real anvil node the test starts (so a
//! test can stop and restart it), with fake auth and in-memory product,
//! media and user peers. Everything generic comes from `testkit`.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent as _};
use blockchain::domain::clients::ProductInfo;
use blockchain::domain::contracts::{DevRupee, FairPay};
use blockchain::domain::deploy::Deployment;
use blockchain::domain::node::{LocalNode, find_anvil};
use common::money::Money;
use common::{Dimensions, Id, LengthUnit, Service, SharedConfig};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use testkit::TestService;
use testkit::http::TestResponse;

pub(crate) use crate::fakes::Fakes;
pub(crate) use testkit::users::{ADMIN, ARTISAN, BUYER, OTHER_ARTISAN};

/// anvil's fourth dev account: the artisan's wallet in these tests.
pub(crate) const ARTISAN_WALLET: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/// A real anvil, owned by the test.
pub(crate) struct TestNode {
    pub(crate) node: Option<LocalNode>,
    pub(crate) port: u16,
    pub(crate) state_file: PathBuf,
}

impl TestNode {
    pub(crate) async fn start(dir: &Path) -> TestNode {
        let state_file = dir.join("anvil.json");
        let node = LocalNode::start(&anvil(), &state_file, 31337)
            .await
            .expect("starting anvil");
        let port = node.url().port().expect("a port");
        TestNode {
            node: Some(node),
            port,
            state_file,
        }
    }

    pub(crate) fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://127.0.0.1:{}", self.port)).expect("url")
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }

    pub(crate) async fn restart(&mut self) {
        self.stop().await;
        self.node = Some(
            LocalNode::start_on(&anvil(), &self.state_file, 31337, self.port)
                .await
                .expect("restarting anvil on its port"),
        );
    }
}

/// The anvil binary; `.ci/run` installs it (npm ci), so it must be there.
pub(crate) fn anvil() -> PathBuf {
    find_anvil(None)
        .expect("anvil is required for the blockchain tests: run `npm ci` at the repository root")
}

/// One blockchain service with its own data directory, key and chain.
pub(crate) struct TestApp {
    service: TestService,
    pub(crate) fakes: Arc<Fakes>,
    pub(crate) chain: TestNode,
}

impl Deref for TestApp {
    type Target = TestService;

    fn deref(&self) -> &TestService {
        &self.service
    }
}

/// Builds the service with `settings` and `fakes` as its peers.
fn build(
    settings: blockchain::Settings,
    fakes: Arc<Fakes>,
) -> impl Fn(SharedConfig, Arc<common::Authenticator>) -> BoxFuture<'static, anyhow::Result<Service>>
+ Send
+ Sync
+ 'static {
    move |shared, auth| {
        let config = blockchain::Config {
            shared,
            service: settings.clone(),
        };
        let deps = blockchain::Deps {
            auth,
            products: fakes.clone(),
            media: fakes.clone(),
            users: fakes.clone(),
        };
        Box::pin(async move { blockchain::build_with(&config, deps).await })
    }
}

impl TestApp {
    pub(crate) async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// With settings changed by `change`.
    pub(crate) async fn spawn_with(change: impl FnOnce(&mut blockchain::Settings)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("a temp dir");
        let chain = TestNode::start(data_dir.path()).await;
        let mut settings = blockchain::Settings::default();
        settings.chain.rpc_url = Some(chain.url());
        settings.chain.dev_chain = true;
        settings.chain.receipt_timeout_ms = 5_000;
        settings.chain.rpc_timeout_ms = 2_000;
        settings.reconcile_interval_ms = 200;
        change(&mut settings);
        let fakes = Arc::new(Fakes::default());
        let service = TestService::builder(blockchain::NAME)
            .served()
            .data_dir(data_dir)
            .start(build(settings, fakes.clone()))
            .await;
        TestApp {
            service,
            fakes,
            chain,
        }
    }

    /// Stops the service and starts it again over the same data directory,
    /// keys, settings and chain: what a redeploy does.
    pub(crate) async fn restart(mut self) -> TestApp {
        self.service = self.service.restart().await;
        self
    }

    /// `POST path` with a JSON body, as `token`.
    pub(crate) async fn post(&self, path: &str, token: &str, body: &Value) -> TestResponse {
        self.post_json(path, body, Some(token)).await
    }

    /// A product of ARTISAN with two photos, in the fake product service.
    pub(crate) fn product(&self, id: &str) -> ProductInfo {
        let media_id = |n: u8| Id::parse(&format!("{id}-m{n}")).expect("a media id");
        let product = ProductInfo {
            id: Id::parse(id).expect("a product id"),
            artisan_id: Id::parse(ARTISAN).expect("a user id"),
            title: "Dokra horse".to_owned(),
            category: "metalwork".to_owned(),
            subcategory: "dokra".to_owned(),
            price: Money::inr(250_000),
            materials: vec!["brass".to_owned(), "beeswax".to_owned()],
            dimensions: Some(Dimensions {
                length: 10,
                width: 4,
                height: 12,
                unit: LengthUnit::Cm,
                weight_g: 800,
            }),
            region: Some("Bastar, Chhattisgarh".to_owned()),
            craft_tradition: Some("Dhokra".to_owned()),
            media_ids: vec![media_id(1), media_id(2)],
        };
        self.fakes.put_media(&format!("{id}-m1"), &"ab".repeat(32));
        self.fakes.put_media(&format!("{id}-m2"), &"cd".repeat(32));
        self.fakes.put_product(product.clone());
        product
    }

    pub(crate) async fn view<C: SolCall>(&self, to: Address, call: C) -> C::Return {
        view(&self.chain.url(), to, call).await
    }

    /// The payment token's balance of `who`.
    pub(crate) async fn token_balance(&self, token: Address, who: Address) -> U256 {
        self.view(token, DevRupee::balanceOfCall { account: who })
            .await
    }

    pub(crate) async fn payment_events(&self, fair_pay: Address, order_id: &str) -> usize {
        payment_events(&self.chain.url(), fair_pay, order_id).await
    }

    /// Where the contracts are, from the deployment the service recorded.
    pub(crate) async fn deployment(&self) -> Deployment {
        deployment_in(&self.store()).await
    }
}

/// A view call against the node at `url`.
pub(crate) async fn view<C: SolCall>(url: &url::Url, to: Address, call: C) -> C::Return {
    let provider: alloy::providers::RootProvider =
        alloy::providers::RootProvider::new_http(url.clone());
    let tx = alloy::rpc::types::TransactionRequest::default()
        .to(to)
        .input(call.abi_encode().into());
    let out = provider.call(tx).await.expect("a view call");
    C::abi_decode_returns(&out).expect("decodable")
}

/// PaymentExecuted events for `order_id` on the chain at `url`.
pub(crate) async fn payment_events(url: &url::Url, fair_pay: Address, order_id: &str) -> usize {
    let provider: alloy::providers::RootProvider =
        alloy::providers::RootProvider::new_http(url.clone());
    let filter = Filter::new()
        .address(fair_pay)
        .event_signature(FairPay::PaymentExecuted::SIGNATURE_HASH)
        .topic1(blockchain::domain::hashing::order_key(order_id))
        .from_block(0);
    provider.get_logs(&filter).await.expect("logs").len()
}

/// The service's store under `data_dir` (read while the service may be down).
pub(crate) fn service_store(data_dir: &Path) -> store::Store {
    let mut shared = SharedConfig::local(blockchain::NAME, 0);
    shared.data_dir = data_dir.to_path_buf();
    store::Store::open_sqlite(shared.store_path()).expect("the service's store")
}

/// Where the contracts are, from the deployment recorded in `store`.
pub(crate) async fn deployment_in(store: &store::Store) -> Deployment {
    store
        .collection::<Deployment>()
        .get("chain-31337")
        .await
        .expect("readable")
        .expect("a deployment")
        .value
}

/// A payment request body.
pub(crate) fn payment(order_id: &str, paise: i64) -> Value {
    json!({
        "order_id": order_id,
        "amount": {"amount": paise, "currency": "INR"},
        "artisan_wallet": ARTISAN_WALLET,
        "splits": {"artisan_bps": 9000, "cooperative_bps": 500, "platform_bps": 500}
    })
}

pub(crate) fn address(s: &str) -> Address {
    s.parse().expect("an address")
}

impl TestApp {
    /// An `eth_call` of `data` to `to` from the platform's signer: `Err` when
    /// it would revert.
    pub(crate) async fn chain_call(&self, to: Address, data: Vec<u8>) -> Result<(), String> {
        let provider: alloy::providers::RootProvider =
            alloy::providers::RootProvider::new_http(self.chain.url());
        let tx = alloy::rpc::types::TransactionRequest::default()
            .from(address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"))
            .to(to)
            .input(data.into());
        provider
            .call(tx)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Money received for `order_id` off chain: `order.paid` as the product
    /// service publishes it (what a payout may pay).
    pub(crate) async fn received(&self, order_id: &str, paise: i64) {
        self.paid_by(order_id, paise, "sandbox").await;
    }

    /// `order.paid` for `order_id`, paid through `provider` (`escrow`:
    /// by the deposit this service saw).
    pub(crate) async fn paid_by(&self, order_id: &str, paise: i64, provider: &str) {
        let paid = events::v1::OrderPaid {
            order_id: order_id.to_owned(),
            buyer_id: BUYER.to_owned(),
            artisan_id: ARTISAN.to_owned(),
            total: Some(common::money::Money::inr(paise).into()),
            provider: provider.to_owned(),
            payment_id: format!("pay_{order_id}"),
            received: Some(common::money::Money::inr(paise).into()),
            reason: String::new(),
        };
        self.push(&format!("paid-{order_id}"), order_id, &paid)
            .await
            .assert_status(http::StatusCode::OK);
    }
}
