//! The auth service (port 8008): accounts, sessions and roles, and the
//! issuer of CraftChain's RS256 ID tokens, shaped like Firebase's so that
//! production can swap in Firebase Auth with no change to any verifier.
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
use common::identity::{Authenticator, Role, Verifier, VerifierConfig};
use common::serve::CheckFn;
use common::{Service, ServiceSettings as _};
use events::Publisher;
use secrecy::ExposeSecret;
use store::Store;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use config::Settings;
pub use domain::sessions::TokenPair;
pub use domain::users::{Me, PublicProfile};
pub use error::AuthError;
pub use routes::accounts::{SignupRequest, SignupResponse};

use crate::domain::credentials::{Email, PasswordHasherPool};
use crate::domain::keyring::{KeyRing, RingKeys};
use crate::domain::users::{Profile, User};
use crate::state::AppState;

/// The auth service's configuration.
pub type Config = common::Config<Settings>;

/// The service's name, as in events and config.
pub const NAME: &str = "auth";

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "accounts"), (name = "sessions"), (name = "profile"), (name = "keys")))]
struct ApiDoc;

/// Assemble the auth service: store, keys, routes, relay.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    config.validate()?;
    let shared = &config.shared;
    let settings = &config.service;
    let store = Store::open_sqlite(shared.service_dir().join("auth.sqlite"))
        .context("opening the auth store")?;
    let keys = KeyRing::open(&store)
        .await
        .context("loading signing keys")?;
    let mut verifier_config = VerifierConfig::new(
        shared.identity.issuer.clone(),
        shared.identity.audience.clone(),
    );
    // The ring is in memory, so asking it again is free: a token signed just
    // after a rotation (an unknown kid) is looked up at once, not after the
    // 30 s refetch interval meant for remote JWKS.
    verifier_config.min_refetch_interval = Duration::ZERO;
    let verifier = Verifier::new(verifier_config, Arc::new(RingKeys(keys.clone())));
    let auth = Arc::new(Authenticator::new(verifier));
    let state = AppState {
        users: store.collection(),
        throttle: store.collection(),
        refresh_tokens: store.collection(),
        families: store.collection(),
        hasher: PasswordHasherPool::new(settings.argon2_memory_kib, settings.argon2_iterations)?,
        keys: keys.clone(),
        auth: auth.clone(),
        publisher: Publisher::new(NAME),
        settings: Arc::new(settings.clone()),
        issuer: shared.identity.issuer.as_str().into(),
        audience: shared.identity.audience.as_str().into(),
        store: store.clone(),
    };
    bootstrap_admin(&state).await?;

    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::accounts::router())
        .merge(routes::sessions::router())
        .merge(routes::profile::router())
        .merge(routes::keys::router())
        .with_state(state)
        .split_for_parts();
    let ping = store.clone();
    let service = Service::new(NAME, router, openapi)
        .readiness(CheckFn::new("store", move || {
            let store = ping.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        }))
        .background("key-refresh", move |cancel| async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(10)) => {
                        if let Err(e) = keys.refresh().await {
                            tracing::warn!(error = %e, "signing keys could not be refreshed");
                        }
                    }
                }
            }
        });
    Ok(events::attach(service, &store, shared, auth, None).await?)
}

/// Create the configured admin account if it does not exist yet.
async fn bootstrap_admin(state: &AppState) -> anyhow::Result<()> {
    let (Some(email), Some(password)) = (
        &state.settings.bootstrap_admin_email,
        &state.settings.bootstrap_admin_password,
    ) else {
        return Ok(());
    };
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("bootstrap_admin_email {e}"))?;
    let user = User {
        email: email.as_str().to_owned(),
        display_name: "Administrator".to_owned(),
        role: Role::Admin,
        password_hash: state
            .hasher
            .hash(password.expose_secret().to_owned().into())
            .await?,
        profile: Profile::default(),
        created_at: common::time::now(),
        disabled: false,
    };
    let uid = uuid::Uuid::new_v4().simple().to_string();
    match routes::accounts::create_account(state, &uid, &user).await {
        Ok(()) => tracing::info!(uid, "bootstrap admin created"),
        Err(AuthError::EmailTaken) => {}
        Err(e) => return Err(anyhow::anyhow!("creating the bootstrap admin: {e}")),
    }
    Ok(())
}

// Settings validation is part of `Config::validate`.
const _: fn(&Settings, &common::SharedConfig) -> Vec<String> = Settings::problems;
