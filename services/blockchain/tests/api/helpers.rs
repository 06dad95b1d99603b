//! The test app: the blockchain service on a free port, against a real
//! anvil node the test starts (so a test can stop and restart it), with
//! fake auth and in-memory product, media and user peers.

use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent as _};
use blockchain::clients::{Fakes, ProductInfo};
use blockchain::contracts::{DevRupee, FairPay};
use blockchain::node::{LocalNode, find_anvil};
use blockchain::state::Peers;
use common::Role;
use common::config::SharedConfig;
use common::money::Money;
use common::serve::Server;
use http::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use testkit::FakeAuthApi;

pub(crate) use testkit::http::TestResponse;

pub(crate) const ARTISAN: &str = "artisan-meera";
pub(crate) const OTHER_ARTISAN: &str = "artisan-ravi";
pub(crate) const BUYER: &str = "buyer-anita";
pub(crate) const ADMIN: &str = "admin-kavya";
/// anvil's fourth dev account: the artisan's wallet in these tests.
pub(crate) const ARTISAN_WALLET: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/// A real anvil, owned by the test.
pub(crate) struct TestNode {
    pub(crate) node: Option<LocalNode>,
    pub(crate) port: u16,
    pub(crate) state_file: PathBuf,
}

impl TestNode {
    pub(crate) async fn start(dir: &std::path::Path) -> TestNode {
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
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) auth: FakeAuthApi,
    pub(crate) fakes: Arc<Fakes>,
    pub(crate) chain: TestNode,
    pub(crate) data_dir: TempDir,
    pub(crate) settings: blockchain::Settings,
    _stop: Option<tokio::sync::oneshot::Sender<()>>,
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
        let auth = FakeAuthApi::new().expect("a signing key");
        let fakes = Arc::new(Fakes::default());
        let mut app = TestApp {
            base: String::new(),
            http: reqwest::Client::new(),
            auth,
            fakes,
            chain,
            data_dir,
            settings,
            _stop: None,
        };
        app.boot().await;
        app
    }

    /// (Re)starts the service over the same data directory and chain.
    pub(crate) async fn boot(&mut self) {
        self._stop = None;
        let mut shared = SharedConfig::local(blockchain::NAME, 0);
        shared.data_dir = self.data_dir.path().to_path_buf();
        let config = blockchain::Config {
            shared,
            service: self.settings.clone(),
        };
        let peers = Peers {
            products: self.fakes.clone(),
            media: self.fakes.clone(),
            users: self.fakes.clone(),
        };
        let service = blockchain::build_with(&config, self.auth.authenticator(), peers)
            .await
            .expect("building the blockchain service");
        let server = Server::bind(service, &config.shared)
            .await
            .expect("binding");
        let addr = server.local_addr().expect("an address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        self.base = format!("http://{addr}");
        self._stop = Some(stop);
    }

    pub(crate) fn token(&self, uid: &str, role: Role) -> String {
        self.auth.token(uid, role)
    }

    pub(crate) fn artisan(&self) -> String {
        self.token(ARTISAN, Role::Artisan)
    }

    pub(crate) fn admin(&self) -> String {
        self.token(ADMIN, Role::Admin)
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req.send().await.expect("a response")).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: &Value) -> TestResponse {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body);
        answer(req.send().await.expect("a response")).await
    }

    /// A product of ARTISAN with two photos, in the fake product service.
    pub(crate) fn product(&self, id: &str) -> ProductInfo {
        let product = ProductInfo {
            id: id.to_owned(),
            artisan_id: ARTISAN.to_owned(),
            title: "Dokra horse".to_owned(),
            category: "metalwork".to_owned(),
            subcategory: "dokra".to_owned(),
            price: Money::inr(250_000),
            materials: vec!["brass".to_owned(), "beeswax".to_owned()],
            dimensions: Some(
                json!({"length": 10, "width": 4, "height": 12, "unit": "cm", "weight_g": 800}),
            ),
            region: Some("Bastar, Chhattisgarh".to_owned()),
            craft_tradition: Some("Dhokra".to_owned()),
            media_ids: vec![format!("{id}-m1"), format!("{id}-m2")],
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

    pub(crate) async fn deployment(&self) -> blockchain::deploy::Deployment {
        deployment(self.data_dir.path()).await
    }

    /// `POST /events/push` with `event` as Pub/Sub would deliver it.
    pub(crate) async fn push<E: events::Event>(
        &self,
        event_id: &str,
        subject: &str,
        event: &E,
    ) -> TestResponse {
        let body = serde_json::to_value(events::PushRequest::for_event(
            event_id, "test", subject, event,
        ))
        .expect("a push body");
        let token = self.token("svc-pubsub", Role::Service);
        self.post("/events/push", &token, &body).await
    }

    /// The event types in the service's outbox, oldest first.
    pub(crate) async fn outbox_types(&self) -> Vec<String> {
        let (entries, _) = service_store(self.data_dir.path())
            .collection::<events::OutboxEntry>()
            .query(&store::Query::new().limit(1000))
            .await
            .expect("the outbox");
        entries.into_iter().map(|e| e.value.event_type).collect()
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
        .topic1(blockchain::hashing::order_key(order_id))
        .from_block(0);
    provider.get_logs(&filter).await.expect("logs").len()
}

/// The service's store in `data_dir` (read while the service may be down).
pub(crate) fn service_store(data_dir: &std::path::Path) -> store::Store {
    store::Store::open_sqlite(data_dir.join("blockchain/blockchain.sqlite"))
        .expect("the service's store")
}

/// Where the contracts are, from the deployment the service recorded.
pub(crate) async fn deployment(data_dir: &std::path::Path) -> blockchain::deploy::Deployment {
    service_store(data_dir)
        .collection::<blockchain::deploy::Deployment>()
        .get("chain-31337")
        .await
        .expect("readable")
        .expect("a deployment")
        .value
}

pub(crate) async fn answer(response: reqwest::Response) -> TestResponse {
    let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a body");
    TestResponse::any_answer(status, headers, bytes)
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

#[allow(dead_code)]
pub(crate) fn hash(s: &str) -> B256 {
    s.parse().expect("a hash")
}
