//! One service under test: its whole HTTP stack (middleware included) over
//! a fresh temporary data directory, driven in process with `oneshot`, or
//! served on a free port (with its background tasks) where the wire or
//! background work matters. Tokens for each role come from a
//! [`FakeAuthApi`] whose verifier the service is built with.
//!
//! A service's own test helpers wrap a [`TestService`] (usually through
//! `Deref`) and add only their fixtures:
//!
//! ```ignore
//! let app = TestService::builder(media::NAME)
//!     .start(|shared, auth| async move {
//!         media::build_with(&media::Config { shared, service: Default::default() }, auth).await
//!     })
//!     .await;
//! app.get("/media/abc", Some(&app.artisan())).await.assert_status(StatusCode::NOT_FOUND);
//! ```

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use common::SharedConfig;
use common::identity::{Authenticator, Role};
use common::serve::{App, Server};
use common::{Service, config::EventsConfig};
use events::OutboxEntry;
use futures::future::BoxFuture;
use store::{Query, Store};
use tempfile::TempDir;

mod requests;

use crate::auth_api::FakeAuthApi;
use crate::memory::Turn;
use crate::users;

/// Builds the service under test from its shared configuration (data
/// directory and port set by the harness) and the fake auth's verifier.
pub type BuildFn = Arc<
    dyn Fn(SharedConfig, Arc<Authenticator>) -> BoxFuture<'static, anyhow::Result<Service>>
        + Send
        + Sync,
>;

/// How a [`TestService`] starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    /// `oneshot` through the app; no background tasks.
    #[default]
    InProcess,
    /// A real port, background tasks running.
    Served,
}

/// Chooses how a [`TestService`] runs.
pub struct TestServiceBuilder {
    name: &'static str,
    mode: Mode,
    alone: bool,
    events: EventsConfig,
    auth: Option<Arc<FakeAuthApi>>,
    data_dir: Option<TempDir>,
}

impl TestServiceBuilder {
    /// Serve on a free port with the service's background tasks; requests
    /// go over HTTP.
    pub fn served(mut self) -> Self {
        self.mode = Mode::Served;
        self
    }

    /// Run with no other test of this process meanwhile (memory measurements).
    pub fn alone(mut self) -> Self {
        self.alone = true;
        self
    }

    /// Relay settings (fast retries by default).
    pub fn events(mut self, f: impl FnOnce(&mut EventsConfig)) -> Self {
        f(&mut self.events);
        self
    }

    /// Use this fake auth (and its signing key) instead of a new one.
    pub fn auth(mut self, auth: Arc<FakeAuthApi>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Keep the service's data in `dir` (made by the caller, e.g. to start
    /// something else in it first).
    pub fn data_dir(mut self, dir: TempDir) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// Build and start the service with `build`.
    pub async fn start<F, Fut>(self, build: F) -> TestService
    where
        F: Fn(SharedConfig, Arc<Authenticator>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Service>> + Send + 'static,
    {
        crate::init_logs();
        let turn = if self.alone {
            Turn::alone().await
        } else {
            Turn::shared().await
        };
        let auth = match self.auth {
            Some(auth) => auth,
            None => Arc::new(FakeAuthApi::new().expect("generating a signing key")),
        };
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| tempfile::tempdir().expect("creating a temp data dir"));
        let build: BuildFn = Arc::new(move |shared, auth| Box::pin(build(shared, auth)));
        let mut service = TestService {
            name: self.name,
            mode: self.mode,
            events: self.events,
            build,
            auth,
            data_dir,
            app: None,
            served: None,
            port: None,
            _turn: turn,
        };
        service.boot().await;
        service
    }
}

/// A running service under test.
pub struct TestService {
    name: &'static str,
    mode: Mode,
    events: EventsConfig,
    build: BuildFn,
    auth: Arc<FakeAuthApi>,
    data_dir: TempDir,
    app: Option<App>,
    served: Option<Served>,
    /// The port a served service listens on (kept across restarts).
    port: Option<u16>,
    _turn: Turn,
}

/// The service on a real port.
struct Served {
    base: String,
    http: reqwest::Client,
    /// Dropping it shuts the server down.
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestService {
    /// A service named `name` (its data lives in `<data dir>/<name>`).
    pub fn builder(name: &'static str) -> TestServiceBuilder {
        TestServiceBuilder {
            name,
            mode: Mode::InProcess,
            alone: false,
            // Fast retries, so that failure tests take milliseconds.
            events: EventsConfig {
                initial_backoff_ms: 50,
                max_backoff_ms: 400,
                poll_interval_ms: 20,
                ..EventsConfig::default()
            },
            auth: None,
            data_dir: None,
        }
    }

    /// The shared configuration the service is built with.
    pub fn shared_config(&self) -> SharedConfig {
        let mut shared = SharedConfig::local(self.name, 0);
        shared.data_dir = self.data_dir.path().to_path_buf();
        shared.events = self.events.clone();
        shared
    }

    async fn boot(&mut self) {
        let mut shared = self.shared_config();
        // A served service knows its own port while it is built (as it
        // does in production); a restart keeps it.
        let listener = match self.mode {
            Mode::InProcess => None,
            Mode::Served => {
                let addr = std::net::SocketAddr::new(shared.host, self.port.unwrap_or(0));
                let listener = common::serve::bind_listener(addr, shared.load.listen_backlog)
                    .expect("binding a free port");
                let port = listener.local_addr().expect("a bound address").port();
                self.port = Some(port);
                shared.port = Some(port);
                Some(listener)
            }
        };
        let service = (self.build)(shared.clone(), self.auth.authenticator())
            .await
            .unwrap_or_else(|e| panic!("building the {} service: {e:#}", self.name));
        match listener {
            None => self.app = Some(service.app(&shared)),
            Some(listener) => {
                let server = Server::with_listener(service, &shared, listener);
                let addr = server.local_addr().expect("a bound address");
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let running = tokio::spawn(server.run(async move {
                    let _ = stopped.await;
                }));
                self.served = Some(Served {
                    base: format!("http://{addr}"),
                    http: reqwest::Client::new(),
                    stop,
                    running,
                });
            }
        }
    }

    /// Stop the service (draining a served one) and start it again over the
    /// same data directory and keys: what a redeploy does.
    pub async fn restart(mut self) -> TestService {
        self.shut_down().await;
        self.boot().await;
        self
    }

    /// Stop the service and serve it again, on a port with its background
    /// tasks, over the same data directory and keys. From an in-process
    /// service (whose background tasks never ran) this is what a crash
    /// after answering and before any background work, then a restart,
    /// leaves.
    pub async fn restart_served(mut self) -> TestService {
        self.shut_down().await;
        self.mode = Mode::Served;
        self.boot().await;
        self
    }

    /// As [`TestService::restart`], built by `build` from now on.
    pub async fn restart_with<F, Fut>(mut self, build: F) -> TestService
    where
        F: Fn(SharedConfig, Arc<Authenticator>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Service>> + Send + 'static,
    {
        self.build = Arc::new(move |shared, auth| Box::pin(build(shared, auth)));
        self.restart().await
    }

    /// Stop the service; it answers nothing until restarted.
    pub async fn shut_down(&mut self) {
        // Releases the store and any lock on its files.
        self.app = None;
        if let Some(served) = self.served.take() {
            let _ = served.stop.send(());
            match served.running.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("the {} service failed: {e:#}", self.name),
                Err(e) => panic!("the {} service panicked: {e}", self.name),
            }
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The root data directory (the service keeps its files in `<it>/<name>`).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The base URL of a served service; panics for an in-process one.
    pub fn base_url(&self) -> &str {
        &self.served.as_ref().expect("a served service").base
    }

    /// The fake auth whose tokens the service accepts.
    pub fn auth(&self) -> &Arc<FakeAuthApi> {
        &self.auth
    }

    /// A token for `uid` with `role`.
    pub fn token(&self, uid: &str, role: Role) -> String {
        self.auth.token(uid, role)
    }

    /// A token of [`users::ARTISAN`].
    pub fn artisan(&self) -> String {
        self.token(users::ARTISAN, Role::Artisan)
    }

    /// A token of [`users::OTHER_ARTISAN`].
    pub fn other_artisan(&self) -> String {
        self.token(users::OTHER_ARTISAN, Role::Artisan)
    }

    /// A token of [`users::BUYER`].
    pub fn buyer(&self) -> String {
        self.token(users::BUYER, Role::Buyer)
    }

    /// A token of [`users::ADMIN`].
    pub fn admin(&self) -> String {
        self.token(users::ADMIN, Role::Admin)
    }

    /// A `service`-role token (what the relay and other services present).
    pub fn service_token(&self) -> String {
        self.token(users::SERVICE, Role::Service)
    }

    /// The service's store, opened again from its file (readable while the
    /// service runs, or after it stopped).
    pub fn store(&self) -> Store {
        Store::open_sqlite(self.shared_config().store_path())
            .unwrap_or_else(|e| panic!("opening the {} store: {e}", self.name))
    }

    /// Every outbox entry, oldest first.
    pub async fn outbox(&self) -> Vec<OutboxEntry> {
        let (entries, _) = self
            .store()
            .collection::<OutboxEntry>()
            .query(&Query::new().limit(1000))
            .await
            .expect("reading the outbox");
        entries.into_iter().map(|e| e.value).collect()
    }

    /// The event types in the outbox, oldest first.
    pub async fn outbox_types(&self) -> Vec<String> {
        self.outbox()
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }
}
