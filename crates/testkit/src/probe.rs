//! A real event subscriber for tests: `/events/push` with the same consumer
//! machinery every service uses (service-token check, decode, apply once in
//! a transaction) over its own SQLite store. It can be down, come back on
//! the same port, and drop its first acknowledgements (as if it crashed
//! after storing the effect) to prove that redelivery applies nothing twice.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use common::identity::{Authenticator, JwksUrl, Verifier, VerifierConfig};
use events::{ConsumeError, Consumer, Received};
use serde::{Deserialize, Serialize};
use store::{Entity, Store, Txn};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

/// What the probe stores per applied event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    /// Its place in the order the probe applied events (from 1).
    #[serde(default)]
    pub seq: u64,
}

impl Entity for Seen {
    const COLLECTION: &'static str = "probe_seen";
}

struct Recorder(Arc<Counters>);

#[async_trait]
impl Consumer for Recorder {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        tx.create(
            event.event_id(),
            &Seen {
                event_id: event.event_id().to_owned(),
                event_type: event.event_type().to_owned(),
                subject: event.subject().to_owned(),
                seq: self.0.applied.fetch_add(1, Ordering::SeqCst) + 1,
            },
        )?;
        Ok(())
    }
}

/// How the probe misbehaves.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// Answer 503 to this many pushes *after* applying them.
    pub drop_first_acks: usize,
    /// Also take pushes to `/events/push?token=<this>` (what the Pub/Sub
    /// emulator's push subscriptions can carry instead of a token).
    pub push_token: Option<String>,
}

#[derive(Default)]
struct Counters {
    received: AtomicUsize,
    acks_to_drop: AtomicUsize,
    applied: AtomicU64,
    attempts: Mutex<Vec<u64>>,
}

/// A subscriber on a fixed port.
pub struct Probe {
    addr: SocketAddr,
    store: Store,
    _dir: TempDir,
    counters: Arc<Counters>,
    running: Option<(CancellationToken, JoinHandle<()>)>,
}

impl Probe {
    /// Reserve a free port; the probe is down until [`Probe::start`].
    pub fn reserve() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        drop(listener);
        let dir = tempfile::tempdir()?;
        let store = Store::open_sqlite(dir.path().join("probe.sqlite"))?;
        Ok(Self {
            addr,
            store,
            _dir: dir,
            counters: Arc::default(),
            running: None,
        })
    }

    /// Its push endpoint.
    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/events/push", self.addr)).unwrap_or_else(|_| unreachable!())
    }

    /// Listen, trusting service tokens of the auth service at `auth`.
    pub async fn start(&mut self, auth: &Url, options: ProbeOptions) -> anyhow::Result<()> {
        self.stop().await;
        self.counters
            .acks_to_drop
            .store(options.drop_first_acks, Ordering::SeqCst);
        let verifier = Verifier::new(
            VerifierConfig::new(
                format!(
                    "https://securetoken.google.com/{}",
                    common::config::LOCAL_PROJECT
                ),
                common::config::LOCAL_PROJECT,
            ),
            Arc::new(JwksUrl::new(auth.join("auth/.well-known/jwks.json")?)?),
        );
        let router = events::push_router_with_token(
            self.store.clone(),
            Arc::new(Recorder(self.counters.clone())),
            Arc::new(Authenticator::new(verifier)),
            options.push_token.map(Into::into),
        )
        .layer(middleware::from_fn_with_state(self.counters.clone(), count));
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let token = CancellationToken::new();
        let stop = token.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        self.running = Some((token, task));
        Ok(())
    }

    /// Stop listening (connections are refused until the next start).
    pub async fn stop(&mut self) {
        if let Some((token, task)) = self.running.take() {
            token.cancel();
            let _ = task.await;
        }
    }

    /// Push requests received (delivered or not).
    pub fn received(&self) -> usize {
        self.counters.received.load(Ordering::SeqCst)
    }

    /// The `deliveryAttempt` of every push received.
    pub fn delivery_attempts(&self) -> Vec<u64> {
        self.counters
            .attempts
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    /// Events applied, in its store.
    pub async fn applied(&self) -> anyhow::Result<Vec<Seen>> {
        let (docs, _) = self
            .store
            .collection::<Seen>()
            .query(&store::Query::new().limit(1000))
            .await?;
        Ok(docs.into_iter().map(|d| d.value).collect())
    }
}

async fn count(State(counters): State<Arc<Counters>>, request: Request, next: Next) -> Response {
    counters.received.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && let Some(attempt) = v.get("deliveryAttempt").and_then(serde_json::Value::as_u64)
        && let Ok(mut attempts) = counters.attempts.lock()
    {
        attempts.push(attempt);
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status().is_success()
        && counters
            .acks_to_drop
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        return (
            http::StatusCode::SERVICE_UNAVAILABLE,
            "simulated crash after apply",
        )
            .into_response();
    }
    response
}
