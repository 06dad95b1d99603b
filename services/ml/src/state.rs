//! The ML service's state.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;

use crate::domain::Analyser;
use crate::domain::media::MediaApi;
use crate::providers::Providers;

#[derive(Clone)]
pub struct AppState {
    pub store: store::Store,
    pub analyser: Analyser,
    pub media: Arc<dyn MediaApi>,
    pub auth: Arc<Authenticator>,
    pub providers: Providers,
    /// The largest image file accepted, in bytes.
    pub max_image_bytes: usize,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
