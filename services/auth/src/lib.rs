//! The auth service (port 8008): accounts, sessions and roles. Locally it
//! is the issuer of CraftChain's RS256 ID tokens, shaped like Firebase's;
//! with `firebase` configured (production), Firebase Auth holds passwords
//! and sessions and signs the tokens, and this service keeps profiles and
//! sets each account's role claim. No verifier changes between the two.
//!
//! Routes: `POST /auth/signup|login|refresh|logout|service-token`,
//! `GET|PATCH /auth/me`, `GET /auth/users/{id}`, `PUT /auth/users/{id}/role`,
//! `GET /auth/.well-known/jwks.json`, `POST /auth/keys/rotate`.

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use common::{Service, ServiceSettings as _};
use events::ServiceBase;

pub use config::Settings;
pub use domain::sessions::TokenPair;
pub use domain::users::{Me, PublicProfile};
pub use error::AuthError;
pub use routes::accounts::{SignupRequest, SignupResponse};

use crate::domain::accounts::Accounts;
use crate::domain::firebase::FirebaseAuth;
use crate::domain::keyring::KeyRing;
use crate::domain::sessions::Sessions;
use crate::domain::tokens::Issuer;
use crate::state::AppState;

/// The auth service's configuration.
pub type Config = common::Config<Settings>;

/// The service: its name and default port.
pub const SERVICE: common::platform::ServiceId = common::platform::AUTH;

/// The service's name, as in events and config.
pub const NAME: &str = SERVICE.name;

/// How often the key ring is re-read (another instance may have rotated).
const KEY_REFRESH: Duration = Duration::from_secs(10);

/// Every index its queries need (the SQLite twins of the Firestore
/// composite indexes in `deploy/firestore.indexes.json`).
pub fn indexes() -> Vec<store::IndexSpec> {
    [
        domain::accounts::revocation_indexes(),
        domain::accounts::directory_indexes(),
        domain::sessions::ended_session_indexes(),
    ]
    .concat()
}

/// Assemble the auth service: store, keys, the bootstrap admin, routes,
/// relay.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    config.validate()?;
    let shared = &config.shared;
    let settings = Arc::new(config.service.clone());
    let base = ServiceBase::open(shared, &indexes()).await?;
    let keys = KeyRing::open(base.store())
        .await
        .context("loading signing keys")?;
    let firebase = settings
        .firebase
        .as_ref()
        .map(|firebase| FirebaseAuth::new(firebase, &shared.service_auth.metadata_url))
        .transpose()
        .context("the firebase auth client")?;
    // With Firebase, ID tokens are Firebase's, verified by the configured
    // keys (Google's certificates) like at every other service; else this
    // service's own key ring verifies what it signs.
    let auth = Arc::new(match firebase {
        Some(_) => common::caller::authenticator(&shared.identity)?,
        None => keys.authenticator(&shared.identity),
    });
    let accounts = Accounts::new(
        base.store(),
        base.publisher(),
        &settings,
        auth.clone(),
        firebase.clone(),
    )?;
    if let (Some(email), Some(password)) = (
        &settings.bootstrap_admin_email,
        &settings.bootstrap_admin_password,
    ) {
        accounts.bootstrap_admin(email, password).await?;
    }
    let issuer = Issuer::new(keys.clone(), &shared.identity, settings.clone());
    let state = AppState {
        accounts,
        sessions: Sessions::new(
            base.store(),
            issuer.clone(),
            settings.refresh_ttl_days,
            firebase,
        ),
        issuer,
        auth: auth.clone(),
        trust_client_address_header: settings.trust_client_address_header,
    };
    Ok(base
        .finish(routes::api(state), auth, None)
        .await?
        .background("key-refresh", move |cancel| {
            keys.keep_fresh(cancel, KEY_REFRESH)
        }))
}

// Settings validation is part of `Config::validate`.
const _: fn(&Settings, &common::SharedConfig) -> Vec<String> = Settings::problems;
