//! A whole system (or some of its services) on free ports in a temp dir,
//! started through the same launcher as `craftchain up`.

use std::collections::BTreeMap;
use std::time::Duration;

use common::config::{EventsConfig, StoreBackend, StoreConfig};
use craftchain_cli::{RunningSystem, SystemConfig};
use tempfile::TempDir;
use url::Url;

use testkit::{AuthApi, HttpAuthApi, TestUser};

/// Running services, stopped and deleted on [`TestSystem::stop`] (or drop).
pub(crate) struct TestSystem {
    system: Option<RunningSystem>,
    /// The services' data, deleted with the system.
    _dir: TempDir,
    auth: Option<HttpAuthApi>,
}

/// Chooses what a [`TestSystem`] runs.
pub(crate) struct TestSystemBuilder {
    services: Vec<&'static str>,
    subscriptions: BTreeMap<String, Vec<Url>>,
    events: EventsConfig,
}

impl TestSystem {
    pub(crate) fn builder() -> TestSystemBuilder {
        TestSystemBuilder {
            services: Vec::new(),
            subscriptions: BTreeMap::new(),
            // Fast retries so that failure tests take milliseconds.
            events: EventsConfig {
                initial_backoff_ms: 50,
                max_backoff_ms: 400,
                poll_interval_ms: 20,
                ..EventsConfig::default()
            },
        }
    }

    /// The base URL of a running service.
    pub(crate) fn url(&self, service: &str) -> Url {
        self.system
            .as_ref()
            .and_then(|s| s.url(service))
            .cloned()
            .unwrap_or_else(|| panic!("{service} is not running in this test system"))
    }

    /// The real auth service, as a client.
    pub(crate) fn auth(&self) -> &HttpAuthApi {
        self.auth
            .as_ref()
            .unwrap_or_else(|| panic!("auth is not running in this test system"))
    }

    /// Sign up a fresh user with `role` through the auth service.
    pub(crate) async fn user(&self, role: &str) -> anyhow::Result<TestUser> {
        self.auth().new_user(role).await
    }

    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        match self.system.take() {
            Some(s) => s.stop().await,
            None => Ok(()),
        }
    }
}

impl TestSystemBuilder {
    /// Run only these services (default: all).
    pub(crate) fn services(mut self, names: &[&'static str]) -> Self {
        self.services = names.to_vec();
        self
    }

    /// Also push `topic` to `url` (a probe).
    pub(crate) fn subscribe(mut self, topic: &str, url: Url) -> Self {
        self.subscriptions
            .entry(topic.to_owned())
            .or_default()
            .push(url);
        self
    }

    pub(crate) async fn start(self) -> anyhow::Result<TestSystem> {
        testkit::init_logs();
        let dir = tempfile::tempdir()?;
        let system = craftchain_cli::start(SystemConfig {
            data_dir: dir.path().to_path_buf(),
            base_port: None,
            services: self.services,
            extra_subscriptions: self.subscriptions,
            events: self.events,
            read_env: false,
            store: store_from_env().await,
            ..SystemConfig::default()
        })
        .await?;
        let auth = system.url("auth").map(|u| HttpAuthApi::new(u.clone()));
        let ts = TestSystem {
            system: Some(system),
            _dir: dir,
            auth,
        };
        if let Some(auth) = &ts.auth {
            testkit::eventually(Duration::from_secs(10), "auth to be ready", || async {
                auth.ready().await.then_some(())
            })
            .await?;
        }
        Ok(ts)
    }
}

/// The document store the services run on: SQLite files (the default), or
/// with `CRAFTCHAIN_E2E_STORE=firestore` Google's Firestore emulator, one
/// per test process, each system under a root of its own.
async fn store_from_env() -> Option<StoreConfig> {
    match std::env::var("CRAFTCHAIN_E2E_STORE").as_deref() {
        Err(_) | Ok("" | "sqlite") => None,
        Ok("firestore") => {
            let emulator = testkit::FirestoreEmulator::shared()
                .await
                .unwrap_or_else(|| {
                    panic!("CRAFTCHAIN_E2E_STORE=firestore needs the Firestore emulator")
                });
            Some(StoreConfig {
                backend: StoreBackend::Firestore,
                emulator_host: Some(emulator.host().to_owned()),
                root: format!("runs/{}/services", uuid::Uuid::new_v4()),
                ..StoreConfig::default()
            })
        }
        Ok(other) => panic!("CRAFTCHAIN_E2E_STORE={other}: sqlite or firestore"),
    }
}
