//! The auth service's state: its store, collections, key ring, password
//! hasher, publisher and verifier.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;
use events::Publisher;
use store::{Collection, Store};

use crate::config::Settings;
use crate::domain::credentials::{LoginThrottle, PasswordHasherPool};
use crate::domain::keyring::KeyRing;
use crate::domain::sessions::{RefreshToken, TokenFamily};
use crate::domain::users::User;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub users: Collection<User>,
    pub throttle: Collection<LoginThrottle>,
    pub refresh_tokens: Collection<RefreshToken>,
    pub families: Collection<TokenFamily>,
    pub hasher: PasswordHasherPool,
    pub keys: KeyRing,
    pub auth: Arc<Authenticator>,
    pub publisher: Publisher,
    pub settings: Arc<Settings>,
    /// `iss` and `aud` of the tokens this service issues.
    pub issuer: Arc<str>,
    pub audience: Arc<str>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
