//! Accepting connections: a listen backlog set explicitly, `TCP_NODELAY`
//! on every accepted socket, HTTP/1.1 with a deadline on each request's
//! head (a client that trickles its headers in, or leaves a keep-alive
//! connection idle, is disconnected), and a graceful stop that lets
//! in-flight requests finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::App;

/// A listener on `addr` with a backlog of `backlog` connections waiting to
/// be accepted (the kernel caps it at `net.core.somaxconn`).
pub fn bind_listener(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// One accepted connection's requests, with the peer's address.
#[derive(Clone)]
struct Connection {
    app: App,
    peer: SocketAddr,
}

impl hyper::service::Service<http::Request<Incoming>> for Connection {
    type Response = Response;
    type Error = Infallible;
    type Future = tower::util::Oneshot<App, http::Request<Body>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.app.clone().oneshot(request)
    }
}

/// Serve `app` on `listener` until `stop`, then stop accepting and wait
/// for the connections to finish what they are doing.
pub(super) async fn accept_loop(
    listener: TcpListener,
    app: App,
    header_read_timeout: Duration,
    stop: CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a moment, never spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Answers go out as soon as they are written (no Nagle delay on a
        // head written apart from its body).
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            Connection {
                app: app.clone(),
                peer,
            },
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
