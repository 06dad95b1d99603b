//! The media service's state: the library every handler works on, and the
//! token verifier.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;

use crate::domain::Library;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub library: Library,
    pub auth: Arc<Authenticator>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for Library {
    fn from_ref(state: &AppState) -> Self {
        state.library.clone()
    }
}
