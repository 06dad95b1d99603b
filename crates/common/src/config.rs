//! Typed configuration from environment variables, with local defaults that
//! run with nothing set.
//!
//! Every service has the same [`SharedConfig`] (address, data directory,
//! logging, identity, events) plus its own settings `S`. Both come from one
//! generic loader: `CRAFTCHAIN_*` for settings every service shares,
//! `CRAFTCHAIN_<SERVICE>_*` for one service (overriding the shared ones),
//! `PORT` last, as Cloud Run sets it. Nested keys use `__`
//! (`CRAFTCHAIN_IDENTITY__ISSUER`). Secrets are `SecretString`s, which never
//! print. [`Config::validate`] runs before any port is bound.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::Env;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

/// Where the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// One machine, embedded backends.
    #[default]
    Local,
    /// Cloud Run and managed backends.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable text, for a terminal.
    #[default]
    Text,
    /// One JSON object per line in Cloud Logging's shape.
    Json,
}

/// How tokens are verified.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// Expected `iss`: `https://securetoken.google.com/<project>` for Firebase.
    pub issuer: String,
    /// Expected `aud`: the Firebase project id.
    pub audience: String,
    /// JWKS document with the signing keys (the auth service locally).
    pub jwks_url: Option<Url>,
    /// Google's x509 certificate map (Firebase in production); used instead
    /// of `jwks_url` when set.
    pub x509_url: Option<Url>,
    /// Accept Google-signed OIDC tokens with this audience as the `service`
    /// role (Pub/Sub push and service-to-service calls in production).
    pub oidc_audience: Option<String>,
    /// Service-account emails whose OIDC tokens are accepted.
    pub oidc_allowed_emails: Vec<String>,
    /// Google's OIDC signing keys.
    pub oidc_jwks_url: Url,
}

/// The project id used on one machine.
pub const LOCAL_PROJECT: &str = "craftchain-local";

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            issuer: format!("https://securetoken.google.com/{LOCAL_PROJECT}"),
            audience: LOCAL_PROJECT.to_owned(),
            jwks_url: crate::platform::AUTH
                .local_url()
                .join("auth/.well-known/jwks.json")
                .ok(),
            x509_url: None,
            oidc_audience: None,
            oidc_allowed_emails: Vec::new(),
            oidc_jwks_url: google_certs_url(),
        }
    }
}

fn google_certs_url() -> Url {
    // A constant that parses; the fallback is never taken.
    Url::parse("https://www.googleapis.com/oauth2/v3/certs")
        .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").unwrap_or_else(|_| unreachable!()))
}

/// How this service proves who it is when it calls another service on no
/// user's behalf (event pushes, consumers).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceAuthConfig {
    /// `secret`: exchange `secret` at the auth service for a short-lived
    /// `service`-role token. `metadata`: ask the Cloud Run metadata server
    /// for a Google-signed OIDC token for the target's audience.
    pub mode: ServiceAuthMode,
    /// The auth service's base URL (mode `secret`).
    pub auth_url: Url,
    /// This service's secret (mode `secret`).
    pub secret: Option<SecretString>,
    /// The metadata server: ID tokens in mode `metadata`, and the access
    /// tokens of the media service's Cloud Storage backend in any mode.
    pub metadata_url: Url,
}

/// See [`ServiceAuthConfig::mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAuthMode {
    #[default]
    Secret,
    Metadata,
}

impl Default for ServiceAuthConfig {
    fn default() -> Self {
        Self {
            mode: ServiceAuthMode::Secret,
            auth_url: crate::platform::AUTH.local_url(),
            secret: None,
            metadata_url: Url::parse("http://metadata.google.internal/")
                .unwrap_or_else(|_| local_url(80)),
        }
    }
}

/// The base URL of a service on this machine.
pub fn local_url(port: u16) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}/"))
        .unwrap_or_else(|_| unreachable!("a loopback URL always parses"))
}

/// How the relay sends a service's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventTransport {
    /// Push each event to its subscribers' URLs (`subscriptions`) in
    /// Pub/Sub's push format: one machine, no broker.
    #[default]
    Push,
    /// Publish each event to its Pub/Sub topic (named by its type), with
    /// its subject as ordering key; Pub/Sub pushes it to the subscribers.
    Pubsub,
}

/// Event delivery settings (`CRAFTCHAIN_EVENTS__*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    pub transport: EventTransport,
    /// Pub/Sub: `host:port` of an emulator, reached without credentials
    /// (else `PUBSUB_EMULATOR_HOST` if set, else Pub/Sub itself with the
    /// service account's credentials).
    pub pubsub_emulator_host: Option<String>,
    /// Accept pushes to `/events/push?token=<this>` as the publisher's: for
    /// a push subscription that cannot carry an OIDC token (the Pub/Sub
    /// emulator's). Production's subscriptions carry Pub/Sub's OIDC token.
    pub push_token: Option<SecretString>,
    /// Topic (event type) → push endpoints of its subscribers.
    pub subscriptions: BTreeMap<String, Vec<Url>>,
    /// Attempts per event before it goes to the dead-letter list.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How often the relay looks for pending events when idle.
    pub poll_interval_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            transport: EventTransport::Push,
            pubsub_emulator_host: None,
            push_token: None,
            subscriptions: BTreeMap::new(),
            max_attempts: 10,
            initial_backoff_ms: 200,
            max_backoff_ms: 60_000,
            poll_interval_ms: 100,
        }
    }
}

/// Which document store a service keeps its data in (`CRAFTCHAIN_STORE__*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// A SQLite file under the data directory (one instance).
    #[default]
    Sqlite,
    /// Firestore in Native mode, in `gcp_project` (any number of instances).
    Firestore,
}

/// The document store (`CRAFTCHAIN_STORE__BACKEND=firestore`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// Firestore: the database id.
    pub database: String,
    /// Firestore: the collection each service's root document is in; a
    /// service's collections live under `<root>/<service>`. A path of an
    /// odd number of segments (`services`, or `runs/<id>/services`).
    pub root: String,
    /// Firestore: `host:port` of an emulator (else `FIRESTORE_EMULATOR_HOST`
    /// if set, else Firestore itself with the service account's credentials).
    pub emulator_host: Option<String>,
    /// Firestore: the longest one request may take.
    pub timeout_secs: u64,
    /// Firestore: refuse, as production does, a query no composite index
    /// in this `firestore.indexes.json` serves (the emulator runs any
    /// query). For tests and rehearsals on the emulator.
    pub indexes_file: Option<PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Sqlite,
            database: "(default)".to_owned(),
            root: "services".to_owned(),
            emulator_host: None,
            timeout_secs: 30,
            indexes_file: None,
        }
    }
}

impl StoreConfig {
    fn problems(&self, shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if self.backend != StoreBackend::Firestore {
            return p;
        }
        if shared.gcp_project.is_none() {
            p.push("store.backend firestore needs gcp_project".to_owned());
        }
        let segments = self.root.split('/').collect::<Vec<_>>();
        if segments.len().is_multiple_of(2) || segments.iter().any(|s| s.is_empty()) {
            p.push(format!(
                "store.root {:?} must name a collection (an odd number of path segments)",
                self.root
            ));
        }
        if self.timeout_secs == 0 {
            p.push("store.timeout_secs must be positive".to_owned());
        }
        if shared.environment == Environment::Production && self.emulator_host.is_some() {
            p.push("store.emulator_host is for local runs, not production".to_owned());
        }
        p
    }
}

/// How much a service takes on (`CRAFTCHAIN_LOAD__*`): requests in flight
/// and waiting, the listen backlog, and how long a client may take to
/// send a request's head (or keep an idle connection).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    /// Requests handled at once.
    pub max_in_flight: usize,
    /// Requests waiting for a place at once; more are answered 503.
    pub queue_depth: usize,
    /// How long a request waits for a place, milliseconds: the most an
    /// admitted request spends queued (10: with the gateway's 10 ms wait
    /// for an upstream connection, an answered request queues at most
    /// 20 ms in all under overload; its p99 was 60 ms against an unloaded
    /// 8.7 ms in `bench/overload.sh`, where 25 ms waits gave 87–120 ms).
    pub queue_wait_ms: u64,
    /// How long after its arrival a refused request is answered 503,
    /// milliseconds (it holds no place meanwhile and its body is not read):
    /// a client that retries at once cannot make the service spend its CPU
    /// refusing it (2,000 such clients ask at most 8,000 times a second).
    pub shed_pace_ms: u64,
    /// Connections the kernel queues before they are accepted.
    pub listen_backlog: u32,
    /// How long a client may take to send a request's head, and how long an
    /// idle keep-alive connection is kept, seconds.
    pub header_read_timeout_secs: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 512,
            queue_depth: 256,
            queue_wait_ms: 10,
            shed_pace_ms: 250,
            listen_backlog: 1024,
            header_read_timeout_secs: 10,
        }
    }
}

impl LoadConfig {
    /// The admission limits of `serve`.
    pub fn limits(&self) -> crate::serve::Limits {
        crate::serve::Limits {
            max_in_flight: self.max_in_flight,
            queue_depth: self.queue_depth,
            queue_wait: Duration::from_millis(self.queue_wait_ms),
            shed_pace: Duration::from_millis(self.shed_pace_ms),
        }
    }
}

/// What every service shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SharedConfig {
    /// The service's name; set by code, not by the environment.
    #[serde(skip)]
    pub service: &'static str,
    pub environment: Environment,
    pub host: IpAddr,
    /// `PORT` (Cloud Run) or `CRAFTCHAIN_<SERVICE>_PORT`; the service's own
    /// default when unset; 0 picks a free port.
    pub port: Option<u16>,
    /// Root of local data (SQLite files, keys): `CRAFTCHAIN_DATA_DIR`.
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    /// `RUST_LOG`-style filter.
    pub log_level: String,
    /// Google Cloud project, for trace ids in JSON logs.
    pub gcp_project: Option<String>,
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// How much the service takes on at once; beyond it, load is shed.
    pub load: LoadConfig,
    pub identity: IdentityConfig,
    pub service_auth: ServiceAuthConfig,
    pub events: EventsConfig,
    pub store: StoreConfig,
}

impl Default for SharedConfig {
    fn default() -> Self {
        Self {
            service: "",
            environment: Environment::Local,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None,
            data_dir: PathBuf::from(".craftchain"),
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            gcp_project: None,
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            shutdown_grace_secs: 10,
            load: LoadConfig::default(),
            identity: IdentityConfig::default(),
            service_auth: ServiceAuthConfig::default(),
            events: EventsConfig::default(),
            store: StoreConfig::default(),
        }
    }
}

impl SharedConfig {
    /// Defaults for one service, as if nothing were set.
    pub fn local(service: &'static str, port: u16) -> Self {
        Self {
            service,
            port: Some(port),
            ..Self::default()
        }
    }

    pub fn bind_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port.unwrap_or(0))
    }

    /// This service's own directory under the data dir.
    pub fn service_dir(&self) -> PathBuf {
        self.data_dir.join(self.service)
    }

    /// This service's document store: `<service dir>/<service>.sqlite`.
    pub fn store_path(&self) -> PathBuf {
        self.service_dir().join(format!("{}.sqlite", self.service))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.load.max_in_flight == 0
            || self.load.listen_backlog == 0
            || self.load.header_read_timeout_secs == 0
        {
            p.push("load.max_in_flight, load.listen_backlog and load.header_read_timeout_secs must be positive".to_owned());
        }
        if self.identity.issuer.trim().is_empty() {
            p.push("identity.issuer must be set".to_owned());
        }
        if self.identity.audience.trim().is_empty() {
            p.push("identity.audience must be set".to_owned());
        }
        if self.identity.jwks_url.is_none() && self.identity.x509_url.is_none() {
            p.push("identity.jwks_url or identity.x509_url must be set".to_owned());
        }
        if self.request_timeout_secs == 0 {
            p.push("request_timeout_secs must be positive".to_owned());
        }
        if self.body_limit_bytes == 0 {
            p.push("body_limit_bytes must be positive".to_owned());
        }
        if self.events.max_attempts == 0 {
            p.push("events.max_attempts must be positive".to_owned());
        }
        p.extend(self.store.problems(self));
        if self
            .events
            .push_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < 16)
        {
            p.push("events.push_token must be at least 16 characters".to_owned());
        }
        if self.events.transport == EventTransport::Pubsub && self.gcp_project.is_none() {
            p.push("events.transport pubsub needs gcp_project".to_owned());
        }
        if self.environment == Environment::Production
            && (self.events.pubsub_emulator_host.is_some() || self.events.push_token.is_some())
        {
            p.push(
                "events.pubsub_emulator_host and events.push_token are for local runs, not production"
                    .to_owned(),
            );
        }
        if self.environment == Environment::Production {
            if self.identity.issuer.ends_with(LOCAL_PROJECT) {
                p.push("production needs identity.issuer of the real project".to_owned());
            }
            if self.service_auth.mode == ServiceAuthMode::Secret
                && self.service_auth.secret.is_none()
            {
                p.push("service_auth.secret is required in mode secret".to_owned());
            }
        }
        p
    }
}

/// A service's own settings.
pub trait ServiceSettings: DeserializeOwned + Default {
    /// Problems that must stop the service before it binds, one per line.
    fn problems(&self, shared: &SharedConfig) -> Vec<String> {
        let _ = shared;
        Vec::new()
    }
}

/// Configuration that failed to load or validate.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration of {service} could not be read: {source}")]
    Load {
        service: &'static str,
        #[source]
        source: Box<figment::Error>,
    },
    #[error("configuration of {service} is invalid:\n  - {}", problems.join("\n  - "))]
    Invalid {
        service: &'static str,
        problems: Vec<String>,
    },
}

/// A service's whole configuration.
#[derive(Debug, Clone)]
pub struct Config<S> {
    pub shared: SharedConfig,
    pub service: S,
}

impl<S: ServiceSettings> Config<S> {
    /// Defaults for `service` on this machine, without reading the environment.
    pub fn local(service: &'static str, port: u16) -> Self {
        Self {
            shared: SharedConfig::local(service, port),
            service: S::default(),
        }
    }

    /// Load `service`'s configuration from the process environment, its
    /// default port the one the platform gives it.
    pub fn load(service: crate::platform::ServiceId) -> Result<Self, ConfigError> {
        Self::from_env(service.name, service.port)
    }

    /// Load from the process environment.
    pub fn from_env(service: &'static str, default_port: u16) -> Result<Self, ConfigError> {
        let service_prefix = format!("CRAFTCHAIN_{}_", service.to_ascii_uppercase());
        let figment = Figment::new()
            .merge(Env::prefixed("CRAFTCHAIN_").split("__"))
            .merge(Env::prefixed(&service_prefix).split("__"))
            .merge(Env::raw().only(&["PORT"]));
        Self::from_figment(service, default_port, &figment)
    }

    fn from_figment(
        service: &'static str,
        default_port: u16,
        figment: &Figment,
    ) -> Result<Self, ConfigError> {
        let load = |source| ConfigError::Load {
            service,
            source: Box::new(source),
        };
        let mut shared: SharedConfig = figment.extract().map_err(load)?;
        shared.service = service;
        shared.port.get_or_insert(default_port);
        // `CRAFTCHAIN_<SERVICE>_PORT` is the shared port's override, not a
        // service setting (services refuse unknown settings).
        let service_figment = Figment::new().merge(
            Env::prefixed(&format!("CRAFTCHAIN_{}_", service.to_ascii_uppercase()))
                .ignore(&["port"])
                .split("__"),
        );
        let settings: S = service_figment.extract().map_err(load)?;
        Ok(Self {
            shared,
            service: settings,
        })
    }

    /// Every problem with the configuration, checked before binding.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = self.shared.problems();
        problems.extend(self.service.problems(&self.shared));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                service: self.shared.service,
                problems,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::result_large_err)]
mod tests;
