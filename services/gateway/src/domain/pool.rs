//! The proxy's connections: a small HTTP/1.1 pool per upstream over
//! hyper's connection API, on TCP or TLS (rustls) for `https://`
//! upstreams. A connection's task is spawned once, when it is opened; a
//! request is sent on an idle connection that is ready, or on a new one.
//! (hyper-util's pooled client spawns a task for every response to
//! hand its connection back, a cross-task wake-up per request that showed
//! in the gateway's profile.)
//!
//! At most `max_busy` exchanges are under way with one upstream at once
//! (from sending the request to the end of its response body), so at most
//! that many connections are busy: a request beyond that waits, fairly
//! and briefly, for one to finish, and is then refused as busy (never as
//! unreachable: the upstream is merely full).
//!
//! A connection goes back to the pool as soon as the response head is in;
//! it is picked again only once hyper says it is ready, i.e. the previous
//! response body has been read to its end. A request that was never
//! written because its pooled connection had closed meanwhile is sent once
//! more on a fresh connection, whatever its method: nothing reached the
//! upstream. A request that reached it is never sent twice.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Body;
use http::header::{self, HeaderValue};
use http::uri::Authority;
use http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

/// An idle connection unused this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Why a request did not get a response.
#[derive(Debug)]
pub enum PoolError {
    /// No connection could be opened (refused, unreachable, timed out).
    Connect(String),
    /// The connection failed while sending or receiving.
    Http(hyper::Error),
    /// Every connection the upstream may have was busy for the whole wait.
    Busy,
}

/// The most exchanges under way with one upstream, and how long a request
/// waits for one of them to finish.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_busy: usize,
    pub wait: Duration,
}

/// TLS to an `https://` upstream.
pub struct Tls {
    connector: TlsConnector,
    name: ServerName<'static>,
}

/// Connections to one upstream.
pub struct Pool {
    addr: String,
    host: HeaderValue,
    tls: Option<Tls>,
    connect_timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<(SendRequest<Body>, Instant)>>,
    busy: Arc<Semaphore>,
    wait: Duration,
}

/// An upstream's response body; the exchange counts as under way until it
/// is read to its end or dropped.
pub struct PooledBody {
    inner: Incoming,
    _busy: OwnedSemaphorePermit,
}

impl hyper::body::Body for PooledBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Pool {
    /// A pool to `authority`, over TLS with `tls` (an `https://` upstream).
    pub fn new(
        authority: &Authority,
        tls: Option<Arc<ClientConfig>>,
        connect_timeout: Duration,
        bounds: Bounds,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            bounds.max_busy > 0,
            "an upstream needs at least one connection"
        );
        let port = authority
            .port_u16()
            .unwrap_or(if tls.is_some() { 443 } else { 80 });
        let tls = match tls {
            Some(config) => {
                // An IPv6 literal without its brackets.
                let host = authority
                    .host()
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                let name = ServerName::try_from(host.to_owned())
                    .with_context(|| format!("{host} is not a name to check a certificate for"))?;
                Some(Tls {
                    connector: TlsConnector::from(config),
                    name,
                })
            }
            None => None,
        };
        Ok(Self {
            addr: format!("{}:{port}", authority.host()),
            host: HeaderValue::from_str(authority.as_str())?,
            tls,
            connect_timeout,
            max_idle: bounds.max_busy,
            idle: Mutex::new(Vec::new()),
            busy: Arc::new(Semaphore::new(bounds.max_busy)),
            wait: bounds.wait,
        })
    }

    /// An idle connection that is ready for a request, if any; closed and
    /// long-idle ones are dropped on the way.
    fn take_ready(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().ok()?;
        let now = Instant::now();
        idle.retain(|(s, used)| !s.is_closed() && now.duration_since(*used) < IDLE_TIMEOUT);
        let at = idle.iter().position(|(s, _)| s.is_ready())?;
        Some(idle.swap_remove(at).0)
    }

    fn put_back(&self, sender: SendRequest<Body>) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push((sender, Instant::now()));
        }
    }

    async fn connect(&self) -> Result<SendRequest<Body>, PoolError> {
        let stream = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| PoolError::Connect(format!("connecting to {} timed out", self.addr)))?
            .map_err(|e| PoolError::Connect(format!("connecting to {}: {e}", self.addr)))?;
        let _ = stream.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return handshake(stream).await;
        };
        let stream = tokio::time::timeout(
            self.connect_timeout,
            tls.connector.connect(tls.name.clone(), stream),
        )
        .await
        .map_err(|_| PoolError::Connect(format!("TLS with {} timed out", self.addr)))?
        .map_err(|e| PoolError::Connect(format!("TLS with {}: {e}", self.addr)))?;
        handshake(stream).await
    }

    /// Sends `request` (its URI in origin form) and returns the response
    /// head; the body streams from the connection.
    pub async fn send(
        &self,
        mut request: Request<Body>,
    ) -> Result<Response<PooledBody>, PoolError> {
        let busy = match self.busy.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => tokio::time::timeout(self.wait, self.busy.clone().acquire_owned())
                .await
                .map_err(|_| PoolError::Busy)?
                .map_err(|_| PoolError::Busy)?,
        };
        request
            .headers_mut()
            .insert(header::HOST, self.host.clone());
        let response = self.exchange(request).await?;
        Ok(response.map(|inner| PooledBody { inner, _busy: busy }))
    }

    async fn exchange(&self, mut request: Request<Body>) -> Result<Response<Incoming>, PoolError> {
        let mut retried = false;
        loop {
            // The retry always goes on a fresh connection.
            let pooled = if retried { None } else { self.take_ready() };
            let from_pool = pooled.is_some();
            let mut sender = match pooled {
                Some(sender) => sender,
                None => self.connect().await?,
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    self.put_back(sender);
                    return Ok(response);
                }
                Err(mut e) => match e.take_message() {
                    // Never written: the pooled connection had closed.
                    Some(unsent) if from_pool => {
                        request = unsent;
                        retried = true;
                    }
                    _ => return Err(PoolError::Http(e.into_error())),
                },
            }
        }
    }
}

/// HTTP/1.1 over `io`, its connection driven by a task of its own.
async fn handshake<T>(io: T) -> Result<SendRequest<Body>, PoolError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(PoolError::Http)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "upstream connection ended");
        }
    });
    sender.ready().await.map_err(PoolError::Http)?;
    Ok(sender)
}
