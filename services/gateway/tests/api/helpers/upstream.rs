//! An echo upstream that records what reaches it (bodies counted as they
//! stream, never buffered), over plain HTTP or TLS.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use http::{HeaderMap, Method, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use url::Url;

use super::SLOW;

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
    if parts.uri.path().ends_with("/linger") {
        tokio::time::sleep(super::LINGER).await;
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
    // A service that answers but is unwell (shedding load, a dependency down).
    if parts.uri.path().ends_with("/unavailable") {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    }
    axum::Json(serde_json::json!({
        "uri": uri,
        "bytes": progress.bytes.load(Ordering::SeqCst),
    }))
    .into_response()
}
