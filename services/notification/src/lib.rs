//! The notification service (port 8006, `/notifications` at the gateway):
//! email, SMS, WhatsApp, push, in-app and signed webhooks. A message is
//! stored before it is acknowledged and delivered by workers from the
//! store, with retries; templates are per language and versioned;
//! preferences, quiet hours and opt-outs are the user's; webhooks go only
//! to public addresses checked at send time.

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use common::identity::Authenticator;
use common::{Service, ServiceClient};
use events::ServiceBase;
use tokio::sync::Notify;

pub use config::Settings;
pub use error::NotificationError;

use crate::domain::campaigns::{Campaigner, Directory, HttpDirectory};
use crate::domain::consumer::NotificationConsumer;
use crate::domain::ssrf::{Guard, Resolver, SystemResolver};
use crate::domain::worker::Worker;
use crate::domain::{Notifier, campaigns, channels, message, webhooks};

/// The notification service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::NOTIFICATION;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// What the service is built with besides its configuration.
pub struct Deps {
    pub auth: Arc<Authenticator>,
    /// Resolves webhook hosts (tests answer as a changing DNS would).
    pub resolver: Arc<dyn Resolver>,
    /// Campaign audiences (the auth service's directory).
    pub directory: Arc<dyn Directory>,
}

/// Every index its queries need (the SQLite twins of the Firestore
/// composite indexes in `deploy/firestore.indexes.json`).
pub fn indexes() -> Vec<store::IndexSpec> {
    [
        message::indexes(),
        webhooks::indexes(),
        campaigns::indexes(),
    ]
    .concat()
}

/// Assemble the notification service with its real peers.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let deps = Deps {
        auth: Arc::new(common::caller::authenticator(&config.shared.identity)?),
        resolver: Arc::new(SystemResolver),
        directory: Arc::new(HttpDirectory(ServiceClient::new(
            "auth",
            config.service.auth_url.clone(),
            common::tokens::from_config(&config.shared),
        ))),
    };
    build_with(config, deps).await
}

/// Assemble the notification service with the given verifier and resolver.
pub async fn build_with(config: &Config, deps: Deps) -> anyhow::Result<Service> {
    config.validate()?;
    let (shared, settings) = (&config.shared, &config.service);
    let base = ServiceBase::open(shared, &indexes()).await?;
    let hooks = &settings.webhooks;
    let notifier = Arc::new(Notifier {
        settings: settings.clone(),
        store: base.store().clone(),
        channels: channels::Channels::from_settings(settings, &shared.service_auth.metadata_url)?,
        webhooks: webhooks::Sender {
            guard: Guard {
                resolver: deps.resolver,
                allow_http: hooks.allow_http,
                allow_private: hooks.allow_private_networks,
            },
            timeout: Duration::from_millis(hooks.timeout_ms),
            max_response_bytes: hooks.max_response_bytes,
        },
        wake: Arc::new(Notify::new()),
    });
    let state = state::AppState {
        notifier: notifier.clone(),
        auth: deps.auth.clone(),
    };
    let publisher = base.publisher();
    let mut service = base
        .finish(
            routes::api(state),
            deps.auth,
            Some(Arc::new(NotificationConsumer(notifier.clone()))),
        )
        .await?;
    let campaigner = Campaigner {
        notifier: notifier.clone(),
        directory: deps.directory,
    };
    service = service.background("campaigns", move |cancel| campaigner.run(cancel));
    for _ in 0..settings.workers {
        let worker = Worker {
            notifier: notifier.clone(),
            publisher,
        };
        service = service.background("notification delivery", move |cancel| worker.run(cancel));
    }
    Ok(service)
}
