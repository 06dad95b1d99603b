//! Real sockets for every test: an echo upstream that records what reaches
//! it, a JWKS server that counts its fetches, and the gateway itself on a
//! free port in front of both.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::identity::{Claims, JwkSet, Role, SigningKey};
use futures::StreamExt as _;
use gateway::Settings;
use http::{HeaderMap, Method, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use url::Url;

pub(crate) const ISSUER: &str = "https://securetoken.google.com/craftchain-local";
pub(crate) const AUDIENCE: &str = "craftchain-local";

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
const SLOW: Duration = Duration::from_secs(5);

/// Tests share the process, so its memory too: the streaming test measures
/// resident memory while it holds this for writing; every other test holds
/// it for reading.
static PROCESS: RwLock<()> = RwLock::const_new(());

/// Held, never read: dropping it lets the next test in.
#[allow(dead_code)]
enum Share {
    Shared(RwLockReadGuard<'static, ()>),
    Alone(RwLockWriteGuard<'static, ()>),
}

// ---------------------------------------------------------------- upstream

/// What one request that reached the upstream looked like.
#[derive(Clone)]
pub(crate) struct Seen {
    pub method: Method,
    /// Path and query, as received.
    pub uri: String,
    pub headers: HeaderMap,
    body: Arc<BodyProgress>,
}

#[derive(Default)]
struct BodyProgress {
    bytes: AtomicU64,
    complete: AtomicBool,
}

impl Seen {
    pub(crate) fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Body bytes received so far.
    pub(crate) fn body_len(&self) -> u64 {
        self.body.bytes.load(Ordering::SeqCst)
    }

    /// Whether the body was read to its end without an error.
    pub(crate) fn body_complete(&self) -> bool {
        self.body.complete.load(Ordering::SeqCst)
    }
}

type SeenLog = Arc<Mutex<Vec<Seen>>>;

/// An upstream that records every request (bodies are counted as they
/// stream, never buffered) and answers 200 JSON; a path ending in `/slow`
/// waits [`SLOW`] first. Stopping it drops the listener and every open
/// connection, like a crashed process; it restarts on the same port.
pub(crate) struct EchoUpstream {
    addr: SocketAddr,
    seen: SeenLog,
    tls: Option<TlsAcceptor>,
    server: Option<JoinHandle<()>>,
}

impl EchoUpstream {
    pub(crate) async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Over TLS, with the `localhost` certificate of `tests/fixtures`
    /// (issued by `test-ca.pem`).
    pub(crate) async fn start_tls() -> Self {
        let fixture = |name: &str| format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let certs = CertificateDer::pem_file_iter(fixture("upstream.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture("upstream-key.pem")).unwrap();
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        Self::start_with(Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_with(tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = SeenLog::default();
        let server = Some(tokio::spawn(serve_echo(
            listener,
            seen.clone(),
            tls.clone(),
        )));
        Self {
            addr,
            seen,
            tls,
            server,
        }
    }

    pub(crate) fn url(&self) -> Url {
        let url = match self.tls {
            Some(_) => format!("https://localhost:{}/", self.addr.port()),
            None => format!("http://{}/", self.addr),
        };
        Url::parse(&url).unwrap()
    }

    /// Kill it: no more listener, every connection closed.
    pub(crate) fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Start again on the same address.
    pub(crate) async fn restart(&mut self) {
        self.stop();
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.server = Some(tokio::spawn(serve_echo(
            listener,
            self.seen.clone(),
            self.tls.clone(),
        )));
    }

    /// Requests received, readiness probes (`/ready`) left out.
    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|s| s.path() != "/ready")
            .cloned()
            .collect()
    }

    /// The only request received; fails unless there was exactly one.
    pub(crate) fn single(&self) -> Seen {
        let mut requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected one request upstream, got {:?}",
            requests.iter().map(|s| &s.uri).collect::<Vec<_>>()
        );
        requests.remove(0)
    }

    pub(crate) fn clear(&self) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Accept loop owning its connections: aborting it closes them all.
async fn serve_echo(listener: TcpListener, seen: SeenLog, tls: Option<TlsAcceptor>) {
    let router = Router::new().fallback(echo).with_state(seen);
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let tls = tls.clone();
        connections.spawn(async move {
            let http = hyper::server::conn::http1::Builder::new();
            let _ = match tls {
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => http.serve_connection(TokioIo::new(stream), service).await,
                    Err(_) => return,
                },
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn echo(State(seen): State<SeenLog>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let progress = Arc::new(BodyProgress::default());
    // As it arrived: an absolute-form URI would show its scheme and host.
    let uri = parts.uri.to_string();
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Seen {
            method: parts.method.clone(),
            uri: uri.clone(),
            headers: parts.headers.clone(),
            body: progress.clone(),
        });
    if parts.uri.path().ends_with("/slow") {
        tokio::time::sleep(SLOW).await;
    }
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(chunk) => {
                progress
                    .bytes
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
    }
    progress.complete.store(true, Ordering::SeqCst);
    axum::Json(serde_json::json!({
        "uri": uri,
        "bytes": progress.bytes.load(Ordering::SeqCst),
    }))
    .into_response()
}

// -------------------------------------------------------------------- JWKS

/// Serves `{"keys": [...]}` with `Cache-Control: max-age=300` and counts
/// fetches; the key set can be swapped.
pub(crate) struct JwksServer {
    addr: SocketAddr,
    keys: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

#[derive(Clone)]
struct JwksState {
    keys: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    pub(crate) async fn serving(keys: &[&SigningKey]) -> Self {
        let state = JwksState {
            keys: Arc::new(Mutex::new(JwkSet::from_signing_keys(keys.iter().copied()))),
            fetches: Arc::default(),
        };
        let router = Router::new()
            .route("/jwks.json", get(jwks))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            addr,
            keys: state.keys,
            fetches: state.fetches,
            server,
        }
    }

    pub(crate) fn url(&self) -> Url {
        Url::parse(&format!("http://{}/jwks.json", self.addr)).unwrap()
    }

    /// Publish these keys from now on.
    pub(crate) fn publish(&self, keys: &[&SigningKey]) {
        *self.keys.lock().unwrap_or_else(PoisonError::into_inner) =
            JwkSet::from_signing_keys(keys.iter().copied());
    }

    pub(crate) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn jwks(State(state): State<JwksState>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let keys = state
        .keys
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    (
        [(http::header::CACHE_CONTROL, "max-age=300")],
        axum::Json(keys),
    )
        .into_response()
}

// ----------------------------------------------------------------- gateway

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
    _share: Share,
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// With settings changed from [`test_settings`].
    pub(crate) async fn spawn_with(change: impl FnOnce(&mut Settings)) -> Self {
        let share = Share::Shared(PROCESS.read().await);
        Self::start(share, EchoUpstream::start().await, change, |_| {}).await
    }

    /// Alone in the process, for measuring its memory.
    pub(crate) async fn spawn_alone(change: impl FnOnce(&mut Settings)) -> Self {
        let share = Share::Alone(PROCESS.write().await);
        Self::start(share, EchoUpstream::start().await, change, |_| {}).await
    }

    /// In front of `upstream`, with the settings and the shared
    /// configuration changed.
    pub(crate) async fn spawn_in_front_of(
        upstream: EchoUpstream,
        change: impl FnOnce(&mut Settings),
        shared: impl FnOnce(&mut common::SharedConfig),
    ) -> Self {
        let share = Share::Shared(PROCESS.read().await);
        Self::start(share, upstream, change, shared).await
    }

    async fn start(
        share: Share,
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
            _share: share,
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
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Claims the gateway accepts, for `sub`, valid for an hour.
pub(crate) fn claims(sub: &str) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: sub.to_owned(),
        iat: now,
        exp: now + 3600,
        auth_time: Some(now),
        user_id: Some(sub.to_owned()),
        email: Some(format!("{sub}@example.com")),
        email_verified: Some(true),
        name: None,
        role: Some(Role::Buyer),
        firebase: None,
    }
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

/// This process's resident memory, bytes.
pub(crate) fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap()
        .to_owned();
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

// ---------------------------------------------------------------- raw HTTP

/// An answer read off a plain socket.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One HTTP/1.1 request with `Connection: close`, the target sent byte
/// for byte as given (no client normalises it).
pub(crate) async fn raw_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    RawResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// A body of `chunks` pieces of `chunk` bytes, produced as it is sent, with
/// no length announced (chunked transfer encoding).
pub(crate) fn streamed_body(chunk: usize, chunks: usize) -> reqwest::Body {
    let piece = bytes::Bytes::from(vec![b'x'; chunk]);
    let frames = futures::stream::iter(0..chunks)
        .map(move |_| Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(piece.clone())));
    reqwest::Body::wrap(http_body_util::StreamBody::new(frames))
}

/// A free loopback port nobody listens on.
pub(crate) async fn dead_url() -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{addr}/")).unwrap()
}
