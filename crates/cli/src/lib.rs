//! The launcher: starts CraftChain services in one process, each on its
//! own port and talking to the others over real HTTP, exactly as they run
//! apart in production. `craftchain up`, `craftchain serve` and the test
//! kit all start services through [`start`].

pub mod deploy;
mod emulators;
mod registry;
mod secrets;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use common::config::{EventTransport, EventsConfig, SharedConfig, StoreBackend, StoreConfig};
use common::platform;
use common::serve::Server;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use registry::{BuildContext, SERVICES, SUBSCRIPTIONS, ServiceSpec, subscribers_of};
pub use secrets::Secrets;

/// What to start and where.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// Root of local data; each service keeps its files in a folder of it.
    pub data_dir: PathBuf,
    /// Where the gateway listens: the one public door.
    pub host: IpAddr,
    /// Where every other service listens: loopback unless told otherwise,
    /// so only the gateway (its token checks, rate limits and route allow
    /// list) is reachable from outside, as on Cloud Run, where the other
    /// services take internal ingress only.
    pub internal_host: IpAddr,
    /// Ports are this plus each service's offset (8000 → 8000–8008);
    /// `None` picks free ports (tests).
    pub base_port: Option<u16>,
    /// Which services to start (names); empty means all.
    pub services: Vec<&'static str>,
    /// Additional subscribers per topic (tests add probes here).
    pub extra_subscriptions: BTreeMap<String, Vec<Url>>,
    /// Relay settings for every service.
    pub events: EventsConfig,
    /// Read each service's own settings from the environment.
    pub read_env: bool,
    /// The document store of every service, when not what the environment
    /// (or the default, SQLite) says.
    pub store: Option<StoreConfig>,
    /// The Google Cloud project of every service (Firestore's and Pub/Sub's
    /// resources are in it), when not what the environment says.
    pub gcp_project: Option<String>,
    /// A Cloud Storage emulator (fake-gcs-server) where the services that
    /// keep blobs get a bucket each, instead of a local folder.
    pub gcs_emulator: Option<Url>,
}

/// The services that keep blobs (media's images, analytics' reports).
const BLOB_KEEPERS: &[&str] = &["media", "analytics"];

impl Default for SystemConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".craftchain"),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            internal_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: Some(platform::BASE_PORT),
            services: Vec::new(),
            extra_subscriptions: BTreeMap::new(),
            events: EventsConfig::default(),
            read_env: true,
            store: None,
            gcp_project: None,
            gcs_emulator: None,
        }
    }
}

impl SystemConfig {
    /// Where `service` listens: the gateway on `host`, the rest on
    /// `internal_host`.
    pub fn host_of(&self, service: platform::ServiceId) -> IpAddr {
        if service == platform::GATEWAY {
            self.host
        } else {
            self.internal_host
        }
    }
}

/// A started system.
pub struct RunningSystem {
    /// The services started here.
    urls: BTreeMap<&'static str, Url>,
    /// Where every service of the platform is in this stack (what the
    /// services were told), started here or not.
    addresses: BTreeMap<&'static str, Url>,
    stop: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

impl RunningSystem {
    /// The base URL of a running service.
    pub fn url(&self, service: &str) -> Option<&Url> {
        self.urls.get(service)
    }

    pub fn urls(&self) -> &BTreeMap<&'static str, Url> {
        &self.urls
    }

    /// Where `service` is in this stack, whether it runs here or not.
    pub fn address(&self, service: &str) -> Option<&Url> {
        self.addresses.get(service)
    }

    /// Drain every service and wait for them.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        for (name, task) in self.tasks {
            task.await
                .with_context(|| format!("{name} panicked"))?
                .with_context(|| format!("{name} failed"))?;
        }
        Ok(())
    }

    /// Resolves when any service stops on its own (a failure).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        if self.tasks.is_empty() {
            return Ok(());
        }
        let (result, index, _) =
            futures::future::select_all(self.tasks.iter_mut().map(|(_, t)| t)).await;
        let name = self.tasks[index].0;
        result
            .with_context(|| format!("{name} panicked"))?
            .with_context(|| format!("{name} stopped"))
    }
}

/// Bind every port first, so each service can be told where the others
/// are, then build and run them.
pub async fn start(config: SystemConfig) -> anyhow::Result<RunningSystem> {
    let chosen: Vec<&ServiceSpec> = SERVICES
        .iter()
        .filter(|s| config.services.is_empty() || config.services.contains(&s.name()))
        .collect();
    anyhow::ensure!(
        !chosen.is_empty(),
        "no known service among {:?}",
        config.services
    );
    let mut listeners = Vec::new();
    let mut urls = BTreeMap::new();
    // Every service of the platform gets an address in this stack, started
    // here or not (one that does not exist yet included), so that no
    // service calls another stack's: its port from the base, or without a
    // base a port that was free and is closed again.
    for id in platform::ALL
        .iter()
        .filter(|id| !chosen.iter().any(|c| c.id == **id))
    {
        let host = config.host_of(*id);
        let addr = match config.base_port {
            Some(base) => SocketAddr::new(host, id.port_from(base)),
            None => std::net::TcpListener::bind(SocketAddr::new(host, 0))?.local_addr()?,
        };
        urls.insert(id.name, loopback_url(host, addr)?);
    }
    for spec in &chosen {
        let host = config.host_of(spec.id);
        let port = config.base_port.map_or(0, |base| spec.id.port_from(base));
        let addr = SocketAddr::new(host, port);
        let backlog = common::config::LoadConfig::default().listen_backlog;
        let listener = common::serve::bind_listener(addr, backlog).with_context(|| {
            format!(
                "binding {} to {addr}: is something else using the port?",
                spec.name()
            )
        })?;
        urls.insert(spec.name(), loopback_url(host, listener.local_addr()?)?);
        listeners.push(listener);
    }
    let secrets = secrets::load_or_create(&config.data_dir, SERVICES.iter().map(|s| s.name()))?;
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    let running: Vec<&'static str> = chosen.iter().map(|s| s.name()).collect();
    let routes = routes(&config, &urls, &running)?;
    if config.events.transport == EventTransport::Pubsub {
        // Pub/Sub pushes to the subscribers: its topics and subscriptions
        // stand in for what deploy/pubsub/apply.sh creates in production.
        let project = config
            .gcp_project
            .clone()
            .unwrap_or_else(|| common::config::LOCAL_PROJECT.to_owned());
        emulators::create_pubsub_routes(&config.events, &project, &routes).await?;
    }
    // Each service that keeps blobs gets a bucket of its own in the
    // Cloud Storage emulator, if there is one.
    let mut blobs = BTreeMap::new();
    if let Some(emulator) = &config.gcs_emulator {
        let project = config
            .gcp_project
            .as_deref()
            .unwrap_or(common::config::LOCAL_PROJECT);
        for service in running.iter().filter(|s| BLOB_KEEPERS.contains(s)) {
            let bucket = format!("{project}-{service}");
            emulators::create_bucket(emulator, &bucket).await?;
            blobs.insert(
                *service,
                blobs::BlobConfig::Gcs {
                    bucket,
                    endpoint: Some(emulator.to_string()),
                    emulator: true,
                },
            );
        }
    }
    for (spec, listener) in chosen.into_iter().zip(listeners) {
        let shared = shared_config(&config, spec, &urls, &routes, &secrets)?;
        let service = (spec.build)(BuildContext {
            shared: shared.clone(),
            secrets: secrets.clone(),
            read_env: config.read_env,
            urls: urls.clone(),
            blobs: blobs.get(spec.name()).cloned(),
        })
        .await
        .with_context(|| format!("building {}", spec.name()))?;
        let server = Server::with_listener(service, &shared, listener);
        let token = stop.clone();
        tasks.push((
            spec.name(),
            tokio::spawn(async move { server.run(async move { token.cancelled().await }).await }),
        ));
    }
    let addresses = urls.clone();
    urls.retain(|name, _| running.contains(name));
    Ok(RunningSystem {
        urls,
        addresses,
        stop,
        tasks,
    })
}

/// The URL other services use for `addr`: a stack on every interface is
/// still reached over loopback locally.
fn loopback_url(host: IpAddr, addr: SocketAddr) -> anyhow::Result<Url> {
    let addr = if host.is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    };
    Ok(Url::parse(&format!("http://{addr}/"))?)
}

/// Topic → the push endpoints of its subscribers in this system: the
/// consumers that run here, and the extra ones (probes).
fn routes(
    config: &SystemConfig,
    urls: &BTreeMap<&'static str, Url>,
    running: &[&'static str],
) -> anyhow::Result<BTreeMap<String, Vec<Url>>> {
    let mut subscriptions: BTreeMap<String, Vec<Url>> = BTreeMap::new();
    for (topic, consumers) in registry::SUBSCRIPTIONS {
        for consumer in consumers.iter().filter(|c| running.contains(c)) {
            if let Some(url) = urls.get(consumer) {
                subscriptions
                    .entry((*topic).to_owned())
                    .or_default()
                    .push(url.join(registry::push_path(topic))?);
            }
        }
    }
    for (topic, extra) in &config.extra_subscriptions {
        subscriptions
            .entry(topic.clone())
            .or_default()
            .extend(extra.iter().cloned());
    }
    Ok(subscriptions)
}

fn shared_config(
    config: &SystemConfig,
    spec: &ServiceSpec,
    urls: &BTreeMap<&'static str, Url>,
    routes: &BTreeMap<String, Vec<Url>>,
    secrets: &secrets::Secrets,
) -> anyhow::Result<SharedConfig> {
    let mut shared = if config.read_env {
        common::Config::<NoSettings>::from_env(spec.name(), 0)?.shared
    } else {
        SharedConfig::local(spec.name(), 0)
    };
    shared.service = spec.name();
    shared.host = config.host_of(spec.id);
    shared.data_dir = config.data_dir.clone();
    shared.events = config.events.clone();
    if let Some(store) = &config.store {
        shared.store = store.clone();
    }
    let google = shared.store.backend == StoreBackend::Firestore
        || shared.events.transport == EventTransport::Pubsub;
    if google && shared.gcp_project.is_none() {
        shared.gcp_project = Some(common::config::LOCAL_PROJECT.to_owned());
    }
    if let Some(auth) = urls.get("auth") {
        shared.identity.jwks_url = Some(auth.join("auth/.well-known/jwks.json")?);
        shared.service_auth.auth_url = auth.clone();
    }
    shared.service_auth.secret = secrets.get(spec.name());
    if let Some(project) = &config.gcp_project {
        shared.gcp_project = Some(project.clone());
    }
    // Events go to the consumers that run in this system.
    shared.events.subscriptions = routes.clone();
    Ok(shared)
}

/// For reading only the shared part of a service's configuration.
#[derive(Debug, Default, serde::Deserialize)]
struct NoSettings {}

impl common::ServiceSettings for NoSettings {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A base port whose whole block of ports is free now.
    fn free_block() -> u16 {
        for _ in 0..200 {
            let base = 20_000 + rand::random::<u16>() % 40_000;
            let all_free = platform::ALL.iter().all(|s| {
                std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, s.port_from(base))).is_ok()
            });
            if all_free {
                return base;
            }
        }
        panic!("no free block of ports");
    }

    #[tokio::test]
    async fn only_the_gateway_listens_beyond_loopback_when_the_stack_is_opened_up() {
        let dir = tempfile::tempdir().unwrap();
        let config = SystemConfig {
            data_dir: dir.path().to_path_buf(),
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            base_port: None,
            services: vec!["gateway", "media"],
            read_env: false,
            ..SystemConfig::default()
        };
        assert!(config.host_of(platform::GATEWAY).is_unspecified());
        for id in platform::ALL.iter().filter(|id| **id != platform::GATEWAY) {
            assert!(config.host_of(*id).is_loopback(), "{}", id.name);
        }
        let system = start(config).await.unwrap();
        // Media is reachable on loopback only: not on another address of
        // this machine, where the gateway is.
        let media = system.address("media").unwrap().port().unwrap();
        let gateway = system.address("gateway").unwrap().port().unwrap();
        let outside = local_non_loopback_ip();
        if let Some(ip) = outside {
            assert!(std::net::TcpStream::connect((ip, gateway)).is_ok());
            assert!(std::net::TcpStream::connect((ip, media)).is_err());
        }
        assert!(std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, media)).is_ok());
        system.stop().await.unwrap();
    }

    /// An address of this machine other than loopback, if it has one.
    fn local_non_loopback_ip() -> Option<IpAddr> {
        let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
        // No packet is sent: connecting a UDP socket only picks a route.
        socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
    }

    #[tokio::test]
    async fn a_stack_at_a_base_port_points_at_its_own_ports_for_every_service() {
        let dir = tempfile::tempdir().unwrap();
        let base = free_block();
        let system = start(SystemConfig {
            data_dir: dir.path().to_path_buf(),
            base_port: Some(base),
            services: vec!["media"],
            read_env: false,
            ..SystemConfig::default()
        })
        .await
        .unwrap();
        for id in platform::ALL {
            let url = system.address(id.name).unwrap();
            assert_eq!(url.port(), Some(id.port_from(base)), "{}", id.name);
        }
        assert_eq!(system.urls().keys().copied().collect::<Vec<_>>(), ["media"]);
        system.stop().await.unwrap();
    }
}
