//! The media service's state.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;
use events::Publisher;
use store::{Collection, Store};
use tokio::sync::Semaphore;

use crate::blobs::BlobStore;
use crate::config::Settings;
use crate::domain::Media;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub media: Collection<Media>,
    pub blobs: BlobStore,
    pub auth: Arc<Authenticator>,
    pub publisher: Publisher,
    pub settings: Arc<Settings>,
    /// Permits for image work; none left → 503.
    pub jobs: Arc<Semaphore>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
