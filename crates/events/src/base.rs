//! What every service with a store starts from: its store, opened where
//! every service keeps it, with its indexes and the outbox's; a publisher
//! in its name; and, once its routes exist, the finished [`Service`] with
//! the store's readiness check, the relay, the dead-letter routes and (for
//! a consumer) `/events/push`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use common::config::StoreBackend;
use common::identity::Authenticator;
use common::serve::CheckFn;
use common::{Service, SharedConfig};
use store::{FirestoreSettings, FirestoreStore, IndexSpec, Store};
use utoipa_axum::router::OpenApiRouter;

use crate::{Consumer, Publisher};

/// A service's store and publisher, before its routes exist.
#[derive(Clone)]
pub struct ServiceBase {
    shared: SharedConfig,
    store: Store,
}

impl ServiceBase {
    /// Open the service's store (`SharedConfig::store_path`) and make sure
    /// `indexes` exist.
    pub async fn open(shared: &SharedConfig, indexes: &[IndexSpec]) -> anyhow::Result<Self> {
        let store = open_store(shared)
            .await
            .with_context(|| format!("opening the {} store", shared.service))?;
        store
            .ensure_indexes(indexes)
            .await
            .with_context(|| format!("creating the {} store's indexes", shared.service))?;
        Ok(Self {
            shared: shared.clone(),
            store,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A publisher of this service's events.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(self.shared.service)
    }

    /// The service: `api`'s routes and description, `/ready` checking the
    /// store, the relay, the dead-letter admin routes and, for a consumer,
    /// `/events/push`.
    pub async fn finish(
        self,
        api: OpenApiRouter,
        auth: Arc<Authenticator>,
        consumer: Option<Arc<dyn Consumer>>,
    ) -> anyhow::Result<Service> {
        let (router, openapi) = api.split_for_parts();
        let ping = self.store.clone();
        let service = Service::new(self.shared.service, router, openapi).readiness(CheckFn::new(
            "store",
            move || {
                let store = ping.clone();
                async move { store.ping().await.map_err(|e| e.to_string()) }
            },
        ));
        Ok(crate::attach(service, &self.store, &self.shared, auth, consumer).await?)
    }
}

/// The service's store, on the configured backend: its SQLite file
/// (`SharedConfig::store_path`), or its root document in Firestore.
pub async fn open_store(shared: &SharedConfig) -> store::StoreResult<Store> {
    match shared.store.backend {
        StoreBackend::Sqlite => {
            let path = shared.store_path();
            tokio::task::spawn_blocking(move || Store::open_sqlite(path))
                .await
                .map_err(store::StoreError::unavailable)?
        }
        StoreBackend::Firestore => {
            let settings = FirestoreSettings {
                project: shared
                    .gcp_project
                    .clone()
                    .unwrap_or_else(|| common::config::LOCAL_PROJECT.to_owned()),
                database: shared.store.database.clone(),
                root: format!("{}/{}", shared.store.root, shared.service),
                emulator_host: shared.store.emulator_host.clone(),
                timeout: Duration::from_secs(shared.store.timeout_secs),
                required_indexes: match &shared.store.indexes_file {
                    Some(path) => {
                        let json = tokio::fs::read_to_string(path)
                            .await
                            .map_err(store::StoreError::unavailable)?;
                        Some(Arc::new(store::FirestoreIndexes::parse(&json)?))
                    }
                    None => None,
                },
            };
            let backend = FirestoreStore::connect(&settings).await?;
            tracing::info!(
                root = settings.root,
                database = settings.database,
                "document store: Firestore"
            );
            Ok(Store::new(Arc::new(backend)))
        }
    }
}
