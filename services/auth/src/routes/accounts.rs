//! Sign-up and login.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use common::error::Validator;
use common::identity::Role;
use common::{ApiError, Caller, Json};
use events::v1::UserRegistered;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use store::{StoreError, Txn};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::credentials::{Email, LoginThrottle, check_password};
use crate::domain::users::{EmailClaim, Me, Profile, User, check_languages};
use crate::error::AuthError;
use crate::routes::sessions::{Session, start_session};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
}

/// `POST /auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub display_name: String,
    /// `artisan` or `buyer`; `admin` only when an admin signs someone up.
    pub role: Role,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub languages: Vec<String>,
}

/// A signed-in account: its tokens and its profile.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignupResponse {
    #[serde(flatten)]
    pub session: Session,
    pub user: Me,
}

/// Create an account and sign it in.
#[utoipa::path(post, path = "/auth/signup", tag = "accounts", request_body = SignupRequest,
    responses((status = 201, body = SignupResponse), (status = 409, description = "email taken"),
              (status = 422, description = "invalid fields")))]
async fn signup(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Json(body): Json<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), AuthError> {
    let mut v = Validator::new();
    let email = match Email::parse(&body.email) {
        Ok(e) => Some(e),
        Err(reason) => {
            v.check(false, "email", "invalid", reason);
            None
        }
    };
    check_password(
        &mut v,
        "password",
        secrecy::ExposeSecret::expose_secret(&body.password),
        email.as_ref(),
    );
    v.length("display_name", &body.display_name, 1, 80);
    if let Some(region) = &body.region {
        v.length("region", region, 1, 80);
    }
    check_languages(&mut v, &body.languages);
    match body.role {
        Role::Artisan | Role::Buyer => {}
        Role::Admin => {
            v.check(
                caller.as_ref().is_some_and(Caller::is_admin),
                "role",
                "forbidden_role",
                "only an admin can create an admin account",
            );
        }
        Role::Service => {
            v.check(
                false,
                "role",
                "forbidden_role",
                "service identities are not accounts",
            );
        }
    }
    v.finish()?;
    let Some(email) = email else {
        return Err(
            ApiError::invalid_field("email", "invalid", "is not a valid email address").into(),
        );
    };
    let password_hash = state.hasher.hash(body.password).await?;
    let user = User {
        email: email.as_str().to_owned(),
        display_name: body.display_name.trim().to_owned(),
        role: body.role,
        password_hash,
        profile: Profile {
            region: body.region.map(|r| r.trim().to_owned()),
            languages: body.languages,
            ..Profile::default()
        },
        created_at: common::time::now(),
        disabled: false,
    };
    let uid = uuid::Uuid::new_v4().simple().to_string();
    create_account(&state, &uid, &user).await?;
    tracing::info!(uid, role = %user.role, "account created");
    let session = start_session(&state, &uid, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            session,
            user: Me::new(&uid, &user),
        }),
    ))
}

/// Store the user, its email claim and `user.registered` in one transaction.
pub(crate) async fn create_account(
    state: &AppState,
    uid: &str,
    user: &User,
) -> Result<(), AuthError> {
    let result = state
        .store
        .transact(async |tx: &mut Txn| {
            tx.create(
                &user.email,
                &EmailClaim {
                    uid: uid.to_owned(),
                },
            )?;
            tx.create(uid, user)?;
            state.publisher.emit(
                tx,
                uid,
                &UserRegistered {
                    user_id: uid.to_owned(),
                    email: user.email.clone(),
                    display_name: user.display_name.clone(),
                    role: user.role.to_string(),
                    languages: user.profile.languages.clone(),
                    region: user.profile.region.clone().unwrap_or_default(),
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .await;
    match result {
        Err(StoreError::AlreadyExists { collection, .. }) if collection == "emails" => {
            Err(AuthError::EmailTaken)
        }
        other => Ok(other?),
    }
}

/// `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, description = "wrong email or password"),
              (status = 429, description = "too many failures on this account")))]
async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> Result<Json<Session>, AuthError> {
    // An address that cannot exist fails like a wrong password.
    let Ok(email) = Email::parse(&body.email) else {
        let _ = state.hasher.verify(body.password, None).await?;
        return Err(AuthError::InvalidCredentials);
    };
    let throttle_key = email.key();
    let throttle = state.throttle.get(&throttle_key).await?;
    if let Some(wait) = throttle.as_ref().and_then(|t| t.value.wait(Utc::now())) {
        return Err(AuthError::Throttled(wait));
    }
    let account = match state
        .store
        .collection::<EmailClaim>()
        .get(email.as_str())
        .await?
    {
        Some(claim) => state.users.get(&claim.value.uid).await?,
        None => None,
    };
    let hash = account.as_ref().map(|a| a.value.password_hash.clone());
    let ok = state.hasher.verify(body.password, hash).await?;
    match account {
        Some(account) if ok => {
            if account.value.disabled {
                return Err(AuthError::Disabled);
            }
            if throttle.is_some() {
                state.throttle.delete(&throttle_key, None).await?;
            }
            Ok(Json(
                start_session(&state, &account.id, &account.value).await?,
            ))
        }
        _ => {
            record_failure(&state, &throttle_key).await?;
            Err(AuthError::InvalidCredentials)
        }
    }
}

async fn record_failure(state: &AppState, key: &str) -> Result<(), AuthError> {
    let threshold = state.settings.lockout_threshold;
    let max = std::time::Duration::from_secs(state.settings.max_lockout_secs);
    state
        .store
        .transact(async |tx: &mut Txn| {
            let mut t = tx
                .get::<LoginThrottle>(key)
                .await?
                .map(|v| v.value)
                .unwrap_or_default();
            t.fail(Utc::now(), threshold, max);
            tx.set(key, &t)?;
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(())
}
