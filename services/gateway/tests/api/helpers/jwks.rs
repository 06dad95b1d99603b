//! A JWKS server that counts its fetches.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::identity::{JwkSet, SigningKey};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

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
