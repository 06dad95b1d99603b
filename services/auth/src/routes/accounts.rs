//! Sign-up and login.

use axum::extract::State;
use axum::http::StatusCode;
use common::identity::Role;
use common::{Caller, Json};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::accounts::NewAccount;
use crate::domain::sessions::TokenPair;
use crate::domain::users::Me;
use crate::error::AuthError;
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
    pub session: TokenPair,
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
    let by_admin = caller.as_ref().is_some_and(Caller::is_admin);
    let new = NewAccount {
        email: body.email,
        password: body.password,
        display_name: body.display_name,
        role: body.role,
        region: body.region,
        languages: body.languages,
    };
    let (uid, user) = state.accounts.sign_up(new, by_admin).await?;
    let session = state.sessions.start(&uid, &user).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            session,
            user: Me::new(&uid, &user),
        }),
    ))
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
    responses((status = 200, body = TokenPair), (status = 401, description = "wrong email or password"),
              (status = 429, description = "too many failures on this account")))]
async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenPair>, AuthError> {
    let account = state
        .accounts
        .authenticate(&body.email, body.password)
        .await?;
    Ok(Json(
        state.sessions.start(&account.id, &account.value).await?,
    ))
}
