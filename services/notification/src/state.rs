//! The notification service's state.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;

use crate::domain::Notifier;

#[derive(Clone)]
pub struct AppState {
    pub notifier: Arc<Notifier>,
    pub auth: Arc<Authenticator>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
