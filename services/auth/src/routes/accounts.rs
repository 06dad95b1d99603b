//! Sign-up and login.

use axum::extract::State;
use axum::http::StatusCode;
use common::identity::Role;
use common::{Caller, Json};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::accounts::NewAccount;
use crate::domain::schemas::{email_schema, password_schema};
use crate::domain::sessions::TokenPair;
use crate::domain::users::{Me, account_role_schema, languages_schema};
use crate::error::AuthError;
use crate::state::{AppState, ClientAddress};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
}

/// `POST /auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Unique: an address already signed up is 409.
    #[schema(schema_with = email_schema)]
    pub email: String,
    #[schema(schema_with = password_schema)]
    pub password: SecretString,
    /// 1–80 characters, not blank.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub display_name: String,
    #[schema(schema_with = signup_role_schema)]
    pub role: Role,
    /// 1–80 characters, not blank.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub region: Option<String>,
    #[serde(
        default,
        deserialize_with = "common::bounded::vec::<_, _, { crate::domain::users::MAX_LANGUAGES }>"
    )]
    #[schema(schema_with = languages_schema)]
    pub languages: Vec<String>,
}

fn signup_role_schema() -> ObjectBuilder {
    account_role_schema().description(Some(
        "`artisan` or `buyer`; `admin` only when an admin signs someone up \
         (anyone else gets 422 `forbidden_role`).",
    ))
}

/// A signed-in account: its tokens and its profile.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignupResponse {
    #[serde(flatten)]
    pub session: TokenPair,
    pub user: Me,
}

/// Create an account and sign it in. Anyone may sign up as an artisan or
/// a buyer; with an admin's token, as an admin too.
#[utoipa::path(post, path = "/auth/signup", tag = "accounts", request_body = SignupRequest,
    security((), ("bearer" = [])),
    responses((status = 201, body = SignupResponse), (status = 409, description = "email taken"),
              (status = 422, description = "invalid fields, or a role the caller may not give")))]
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
    let (uid, user, provided) = state.accounts.sign_up(new, by_admin).await?;
    let session = state.sessions.begin(&uid, &user, provided).await?;
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
    /// An address that cannot be an account's fails like a wrong password.
    #[schema(schema_with = email_schema)]
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, description = "wrong email or password"),
              (status = 403, description = "the account is disabled"),
              (status = 429, description = "too many recent failures from this client on this account",
                  headers(("Retry-After" = u64, description = "seconds to wait")))))]
async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenPair>, AuthError> {
    let signed_in = state
        .accounts
        .authenticate(&body.email, body.password, client)
        .await?;
    let account = signed_in.account;
    Ok(Json(
        state
            .sessions
            .begin(&account.id, &account.value, signed_in.session)
            .await?,
    ))
}
