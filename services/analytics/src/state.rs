//! The analytics service's state.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;

use crate::domain::Analytics;

#[derive(Clone)]
pub struct AppState {
    pub analytics: Arc<Analytics>,
    pub auth: Arc<Authenticator>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
