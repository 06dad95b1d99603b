//! Real sockets for every test: an echo upstream that records what reaches
//! it, a JWKS server that counts its fetches, and the gateway itself on a
//! free port in front of both.

mod jwks;
mod raw;
mod upstream;

use std::net::SocketAddr;
use std::time::Duration;

use common::identity::{Claims, Role, SigningKey};
use gateway::Settings;
use testkit::memory::Turn;
use tokio::sync::oneshot;
use url::Url;

pub(crate) use jwks::JwksServer;
pub(crate) use raw::{RawResponse, dead_url, raw_request, streamed_body};
pub(crate) use testkit::memory::rss_bytes as resident_bytes;
pub(crate) use upstream::EchoUpstream;

/// Every service the gateway routes to.
pub(crate) const SERVICES: [&str; 8] = [
    "auth",
    "product",
    "ml",
    "pricing",
    "analytics",
    "blockchain",
    "notification",
    "media",
];

/// How long the echo upstream's `/slow` routes take: longer than the
/// gateway's upstream timeout in [`test_settings`].
pub(crate) const SLOW: Duration = Duration::from_secs(5);

/// How long the echo upstream's `/linger` routes take: slow, but inside
/// the gateway's upstream timeout.
pub(crate) const LINGER: Duration = Duration::from_millis(600);

/// Small timings so failures show quickly: 1 s upstream timeout, 200 ms
/// connect timeout, the breaker opens after 3 failures for 300 ms.
pub(crate) fn test_settings(upstream: &Url) -> Settings {
    Settings {
        upstreams: SERVICES
            .iter()
            .map(|s| ((*s).to_owned(), upstream.clone()))
            .collect(),
        upstream_timeout_secs: 1,
        connect_timeout_ms: 200,
        breaker_failures: 3,
        breaker_open_ms: 300,
        breaker_max_open_ms: 1200,
        ..Settings::default()
    }
}

/// A gateway serving on a free port until dropped.
pub(crate) struct Gateway {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Gateway {
    pub(crate) async fn spawn(settings: Settings, jwks_url: Url) -> Self {
        Self::spawn_with_shared(settings, jwks_url, |_| {}).await
    }

    /// With the shared configuration changed too.
    pub(crate) async fn spawn_with_shared(
        settings: Settings,
        jwks_url: Url,
        change: impl FnOnce(&mut common::SharedConfig),
    ) -> Self {
        let mut shared = common::SharedConfig::local("gateway", 0);
        shared.identity.jwks_url = Some(jwks_url);
        shared.shutdown_grace_secs = 1;
        change(&mut shared);
        let config = gateway::Config {
            shared: shared.clone(),
            service: settings,
        };
        let service = gateway::build(&config).await.unwrap();
        let server = common::Server::bind(service, &shared).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A gateway with its own upstream, JWKS server and signing key.
pub(crate) struct TestApp {
    pub gateway: Gateway,
    pub upstream: EchoUpstream,
    pub jwks: JwksServer,
    pub key: SigningKey,
    pub client: reqwest::Client,
    _turn: Turn,
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// With settings changed from [`test_settings`].
    pub(crate) async fn spawn_with(change: impl FnOnce(&mut Settings)) -> Self {
        let turn = Turn::shared().await;
        Self::start(turn, EchoUpstream::start().await, change, |_| {}).await
    }

    /// Alone in the process, for measuring its memory.
    pub(crate) async fn spawn_alone(change: impl FnOnce(&mut Settings)) -> Self {
        let turn = Turn::alone().await;
        Self::start(turn, EchoUpstream::start().await, change, |_| {}).await
    }

    /// In front of `upstream`, with the settings and the shared
    /// configuration changed.
    pub(crate) async fn spawn_in_front_of(
        upstream: EchoUpstream,
        change: impl FnOnce(&mut Settings),
        shared: impl FnOnce(&mut common::SharedConfig),
    ) -> Self {
        let turn = Turn::shared().await;
        Self::start(turn, upstream, change, shared).await
    }

    async fn start(
        turn: Turn,
        upstream: EchoUpstream,
        change: impl FnOnce(&mut Settings),
        shared: impl FnOnce(&mut common::SharedConfig),
    ) -> Self {
        let key = SigningKey::generate().unwrap();
        let jwks = JwksServer::serving(&[&key]).await;
        let mut settings = test_settings(&upstream.url());
        change(&mut settings);
        let gateway = Gateway::spawn_with_shared(settings, jwks.url(), shared).await;
        Self {
            gateway,
            upstream,
            jwks,
            key,
            client: client(),
            _turn: turn,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.gateway.url(path)
    }

    /// A valid token for `sub`, signed by the published key.
    pub(crate) fn token(&self, sub: &str) -> String {
        self.key.sign(&claims(sub)).unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub(crate) async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A request over a plain socket, its target sent exactly as written.
    pub(crate) async fn raw(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> RawResponse {
        raw_request(self.gateway.addr, method, target, headers).await
    }
}

/// A client that never uses a proxy.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_proxy()
        .build()
        .unwrap()
}

/// Claims the gateway accepts, for `sub` (a buyer), valid for an hour.
pub(crate) fn claims(sub: &str) -> Claims {
    testkit::claims(sub, Role::Buyer)
}

/// A problem body's `code`, checking the media type.
pub(crate) async fn problem_code(response: reqwest::Response) -> String {
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, common::error::PROBLEM_JSON);
    let problem: common::Problem = response.json().await.unwrap();
    problem.code
}
