//! The auth service's state: its accounts, sessions, token issuer and the
//! authenticator of the tokens it issued.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;

use crate::domain::accounts::Accounts;
use crate::domain::sessions::Sessions;
use crate::domain::tokens::Issuer;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub issuer: Issuer,
    pub auth: Arc<Authenticator>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
