//! The reviews service's state.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;
use store::Collection;

use crate::domain::{Eligible, Review};

#[derive(Clone)]
pub struct AppState {
    pub reviews: Collection<Review>,
    pub eligible: Collection<Eligible>,
    pub auth: Arc<Authenticator>,
    pub max_text: usize,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
