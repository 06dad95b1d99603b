//! The analytics service (port 8004, `/analytics` at the gateway): keeps a
//! fact of every domain event (idempotently, in a fact store of its own),
//! and answers dashboards, market trends and product performance from
//! them; renders reports as JSON, CSV, charts and PDF in Indian scripts,
//! weekly when subscribed.

pub mod config;
pub mod domain;
pub mod error;
pub mod facts;
pub mod report;
pub mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use blobs::BlobStore;
use common::Service;
use common::identity::Authenticator;
use events::ServiceBase;
use tokio::sync::Notify;

pub use config::Settings;
pub use error::AnalyticsError;

use crate::domain::Analytics;
use crate::domain::consumer::FactConsumer;
use crate::domain::jobs::Worker;
use crate::domain::schedules::Scheduler;
use crate::facts::{FactStore, SqliteFacts};

/// The analytics service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::ANALYTICS;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// What the service is built with besides its configuration.
pub struct Deps {
    pub auth: Arc<Authenticator>,
}

/// Every index its queries need (the SQLite twins of the Firestore
/// composite indexes in `deploy/firestore.indexes.json`).
pub fn indexes() -> Vec<store::IndexSpec> {
    [domain::jobs::indexes(), domain::schedules::indexes()].concat()
}

/// Assemble the analytics service with its real peers.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let deps = Deps {
        auth: Arc::new(common::caller::authenticator(&config.shared.identity)?),
    };
    build_with(config, deps).await
}

/// Assemble the analytics service with the given verifier.
pub async fn build_with(config: &Config, deps: Deps) -> anyhow::Result<Service> {
    config.validate()?;
    let (shared, settings) = (&config.shared, &config.service);
    let base = ServiceBase::open(shared, &indexes()).await?;
    let path = settings.facts_path(shared);
    let facts: Arc<dyn FactStore> =
        Arc::new(tokio::task::spawn_blocking(move || SqliteFacts::open(&path)).await??);
    let blobs = BlobStore::open(
        &settings.blobs,
        &shared.service_dir().join("reports"),
        &shared.service_auth.metadata_url,
    )?;
    let analytics = Arc::new(Analytics {
        settings: settings.clone(),
        facts,
        store: base.store().clone(),
        blobs,
        jobs: Arc::new(Notify::new()),
        publisher: base.publisher(),
    });
    let interval = Duration::from_millis(settings.poll_ms);
    let state = state::AppState {
        analytics: analytics.clone(),
        auth: deps.auth.clone(),
    };
    let mut service = base
        .finish(
            routes::api(state),
            deps.auth,
            Some(Arc::new(FactConsumer(analytics.clone()))),
        )
        .await?
        .background("report schedules", {
            let scheduler = Scheduler {
                analytics: analytics.clone(),
                interval,
            };
            move |cancel| scheduler.run(cancel)
        });
    for _ in 0..settings.report_workers {
        let worker = Worker {
            analytics: analytics.clone(),
            interval,
        };
        service = service.background("report jobs", move |cancel| worker.run(cancel));
    }
    Ok(service)
}
