//! A whole system (or some of its services) on free ports in a temp dir,
//! started through the same launcher as `craftchain up`.

use std::collections::BTreeMap;
use std::time::Duration;

use common::config::{EventTransport, EventsConfig, StoreBackend, StoreConfig};
use craftchain_cli::{RunningSystem, SystemConfig};
use secrecy::ExposeSecret as _;
use tempfile::TempDir;
use url::Url;

use testkit::{AuthApi, HttpAuthApi, TestUser};

/// Running services, stopped and deleted on [`TestSystem::stop`] (or drop).
pub(crate) struct TestSystem {
    system: Option<RunningSystem>,
    /// The services' data, deleted with the system.
    _dir: TempDir,
    auth: Option<HttpAuthApi>,
    /// What pushes from the Pub/Sub emulator carry (emulator backends).
    push_token: Option<String>,
    /// The system's project (emulator backends): its buckets are
    /// `<project>-<service>`.
    project: Option<String>,
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

    /// How a probe subscribed to this system must listen: taking the
    /// emulator's pushes, when events go through Pub/Sub.
    pub(crate) fn probe_options(&self) -> testkit::ProbeOptions {
        testkit::ProbeOptions {
            push_token: self.push_token.clone(),
            ..testkit::ProbeOptions::default()
        }
    }

    /// The names of the objects in `service`'s bucket in fake-gcs-server, on
    /// the emulator backends (`None` elsewhere: blobs are in folders).
    pub(crate) async fn blob_names(&self, service: &str) -> Option<Vec<String>> {
        let project = self.project.as_ref()?;
        let gcs = testkit::FakeGcs::shared().await?;
        Some(gcs.objects(&format!("{project}-{service}")).await)
    }

    /// Whether events go through the Pub/Sub emulator (else the relay
    /// pushes them itself).
    pub(crate) fn events_through_pubsub(&self) -> bool {
        self.push_token.is_some()
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
        let mut events = self.events;
        let backends = backends_from_env(&mut events).await;
        let push_token = events
            .push_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned());
        let (store, gcp_project, gcs_emulator) = match backends {
            Some(e) => (Some(e.store), Some(e.project), Some(e.gcs)),
            None => (None, None, None),
        };
        let gcp_project_of_system = gcp_project.clone();
        let system = craftchain_cli::start(SystemConfig {
            data_dir: dir.path().to_path_buf(),
            base_port: None,
            services: self.services,
            extra_subscriptions: self.subscriptions,
            events,
            read_env: false,
            store,
            gcp_project,
            gcs_emulator,
            ..SystemConfig::default()
        })
        .await?;
        let auth = system.url("auth").map(|u| HttpAuthApi::new(u.clone()));
        let ts = TestSystem {
            system: Some(system),
            _dir: dir,
            auth,
            push_token,
            project: gcp_project_of_system,
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

/// Production's backends on emulators, for a system.
struct Emulated {
    store: StoreConfig,
    project: String,
    gcs: Url,
}

/// What the services run on: the embedded defaults (SQLite files, the
/// relay pushing to subscribers, blobs in folders), or with
/// `CRAFTCHAIN_E2E_BACKENDS=emulators` production's backends on emulators,
/// one of each per test process: documents in Google's Firestore emulator
/// under a root of the system's own, events published to its Pub/Sub
/// emulator in a project of the system's own, which pushes them to the
/// subscribers, and blobs in buckets of the system's own in
/// fake-gcs-server.
async fn backends_from_env(events: &mut EventsConfig) -> Option<Emulated> {
    match std::env::var("CRAFTCHAIN_E2E_BACKENDS").as_deref() {
        Err(_) | Ok("" | "local") => None,
        Ok("emulators") => {
            let need = "CRAFTCHAIN_E2E_BACKENDS=emulators needs Google's emulators";
            let firestore = testkit::FirestoreEmulator::shared()
                .await
                .unwrap_or_else(|| panic!("{need}"));
            let pubsub = testkit::PubSubEmulator::shared()
                .await
                .unwrap_or_else(|| panic!("{need}"));
            let gcs = testkit::FakeGcs::shared()
                .await
                .unwrap_or_else(|| panic!("{need}"));
            let run = uuid::Uuid::new_v4().simple().to_string();
            events.transport = EventTransport::Pubsub;
            events.pubsub_emulator_host = Some(pubsub.host().to_owned());
            events.push_token = Some(format!("push-{run}").into());
            let store = StoreConfig {
                backend: StoreBackend::Firestore,
                emulator_host: Some(firestore.host().to_owned()),
                root: format!("runs/{run}/services"),
                // What production would refuse fails here too.
                indexes_file: Some(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../deploy/firestore.indexes.json"),
                ),
                ..StoreConfig::default()
            };
            Some(Emulated {
                store,
                project: format!("e2e-{}", &run[..12]),
                gcs: gcs.url().clone(),
            })
        }
        Ok(other) => panic!("CRAFTCHAIN_E2E_BACKENDS={other}: local or emulators"),
    }
}
