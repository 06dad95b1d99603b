//! Profiles: the caller's own (`/auth/me`), anyone's public one, and role
//! changes by an admin.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use common::identity::Role;
use common::{ApiError, Caller, Id, Json, Page, PageParams, Path, Query};
use serde::Deserialize;
use store::{Version, Versioned};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::accounts::Directory;
use crate::domain::users::{Contact, Me, ProfilePatch, PublicProfile, User, account_role_schema};
use crate::error::AuthError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, patch_me))
        .routes(routes!(get_user))
        .routes(routes!(directory))
        .routes(routes!(set_role))
        .routes(routes!(set_status))
}

/// The owner's view, with the version as its `ETag`.
fn me_response(user: &Versioned<User>) -> Response {
    let mut response = Json(Me::new(&user.id, &user.value)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, common::preconditions::etag(user.version.0));
    response
}

/// The caller's own account (a `service` identity has none: 403).
#[utoipa::path(get, path = "/auth/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = Me, headers(("ETag" = String))),
        (status = 404, description = "the token's subject has no account here")))]
async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Response, AuthError> {
    if caller.is(Role::Service) {
        return Err(AuthError::NoProfile);
    }
    Ok(me_response(&state.accounts.get(&caller.uid).await?))
}

/// Edit the caller's profile. `If-Match` (the `ETag` of a read) is honoured.
#[utoipa::path(patch, path = "/auth/me", tag = "profile", security(("bearer" = [])), request_body = ProfilePatch,
    params(("If-Match" = Option<String>, Header, nullable = false, pattern = "^(W/)?\"[0-9]{1,18}\"$",
        description = "The `ETag` of a read: the edit applies only to that version.")),
    responses((status = 200, body = Me, headers(("ETag" = String))),
              (status = 404, description = "the token's subject has no account here"),
              (status = 412, description = "If-Match is stale, or the profile changed meanwhile"),
              (status = 422, description = "invalid fields")))]
async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(patch): Json<ProfilePatch>,
) -> Result<Response, AuthError> {
    let expected = common::preconditions::if_match(&headers)?.map(Version);
    let saved = state
        .accounts
        .edit_profile(&caller.uid, expected, patch)
        .await?;
    Ok(me_response(&saved))
}

/// Anyone's public profile (no email).
#[utoipa::path(get, path = "/auth/users/{id}", tag = "profile", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = PublicProfile), (status = 404)))]
async fn get_user(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<PublicProfile>, AuthError> {
    let user = state.accounts.get(&id).await?;
    Ok(Json(PublicProfile::new(&user.id, &user.value)))
}

/// `GET /auth/users`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DirectoryParams {
    /// Comma-separated roles (`artisan,buyer`), any of them.
    #[param(max_length = 100)]
    pub roles: Option<String>,
    /// Comma-separated regions, any of them (at most 30; roles × regions ×
    /// crafts at most 30 combinations).
    #[param(max_length = 3000)]
    pub regions: Option<String>,
    /// Comma-separated language codes, any of them (at most 6).
    #[param(max_length = 100)]
    pub languages: Option<String>,
    /// Comma-separated crafts, any of them (at most 30).
    #[param(max_length = 3000)]
    pub crafts: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque).
    #[param(max_length = 2048)]
    pub cursor: Option<String>,
}

/// The values of a comma-separated list, at most `max` (a 422 naming
/// `field` beyond).
fn list(field: &str, raw: Option<&str>, max: usize) -> Result<Vec<String>, ApiError> {
    let values: Vec<String> = raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .take(max + 1)
        .map(str::to_owned)
        .collect();
    if values.len() > max {
        return Err(ApiError::invalid_field(
            field,
            "too_many",
            format!("at most {max} values"),
        ));
    }
    Ok(values)
}

/// Accounts and how to reach them, for services and admins (campaign
/// audiences): enabled accounts matching every given list, oldest first.
/// A page may hold fewer than `limit` accounts (languages are matched on
/// the accounts read); follow `next_cursor` to the end.
#[utoipa::path(get, path = "/auth/users", tag = "profile", security(("bearer" = [])),
    params(DirectoryParams), responses((status = 200, body = Page<Contact>), (status = 403)))]
async fn directory(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<DirectoryParams>,
) -> Result<Json<Page<Contact>>, AuthError> {
    caller.require(&[Role::Admin, Role::Service])?;
    let limit = PageParams {
        limit: params.limit,
        cursor: None,
    }
    .limit()?;
    let filter = Directory {
        roles: list("roles", params.roles.as_deref(), 3)?,
        regions: list("regions", params.regions.as_deref(), 30)?,
        languages: list("languages", params.languages.as_deref(), 6)?,
        crafts: list("crafts", params.crafts.as_deref(), 30)?,
    };
    // One query, at most 30 alternatives (Firestore's limit on a query's
    // disjunctions).
    let alternatives: usize = [&filter.roles, &filter.regions, &filter.crafts]
        .iter()
        .map(|v| v.len().max(1))
        .product();
    if alternatives > 30 {
        return Err(ApiError::invalid_field(
            "regions",
            "too_broad",
            format!("roles × regions × crafts must be at most 30 combinations, not {alternatives}"),
        )
        .into());
    }
    let cursor = params
        .cursor
        .as_deref()
        .map(store::Cursor::parse)
        .transpose()
        .map_err(|_| common::pagination::invalid_cursor())?;
    let (users, next) = match state.accounts.directory(&filter, limit, cursor).await {
        // A cursor of another query of this list.
        Err(AuthError::Store(e)) if e.is_invalid_input() => {
            return Err(common::pagination::invalid_cursor().into());
        }
        other => other?,
    };
    let items = users
        .iter()
        .map(|u| Contact::new(&u.id, &u.value))
        .collect();
    Ok(Json(Page::new(items, next.map(|c| c.to_string()))))
}

/// `PUT /auth/users/{id}/role`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    #[schema(schema_with = account_role_schema)]
    pub role: Role,
}

/// Change an account's role (admin). Its ID tokens with the old role are
/// revoked (`user.tokens_revoked`); its next refresh carries the new role.
#[utoipa::path(put, path = "/auth/users/{id}/role", tag = "profile", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = RoleChange,
    responses((status = 200, body = PublicProfile), (status = 403), (status = 404),
        (status = 409, description = "An admin cannot demote themselves (`last_admin_guard`), \
            or the account changed meanwhile (`concurrent_update`).")))]
async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(change): Json<RoleChange>,
) -> Result<Json<PublicProfile>, AuthError> {
    caller.require(&[Role::Admin])?;
    let saved = state
        .accounts
        .set_role(&caller.uid, &id, change.role)
        .await?;
    Ok(Json(PublicProfile::new(&saved.id, &saved.value)))
}

/// `PUT /auth/users/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// A disabled account cannot sign in or refresh, and its ID tokens are
    /// refused at every service within seconds.
    pub disabled: bool,
}

/// Disable an account, or enable it again (admin). Disabling revokes its
/// sessions and ID tokens (`user.tokens_revoked`).
#[utoipa::path(put, path = "/auth/users/{id}/status", tag = "profile", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = StatusChange,
    responses((status = 200, body = PublicProfile), (status = 403), (status = 404),
        (status = 409, description = "An admin cannot disable themselves (`last_admin_guard`).")))]
async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(change): Json<StatusChange>,
) -> Result<Json<PublicProfile>, AuthError> {
    caller.require(&[Role::Admin])?;
    let saved = state
        .accounts
        .set_disabled(&caller.uid, &id, change.disabled)
        .await?;
    Ok(Json(PublicProfile::new(&saved.id, &saved.value)))
}
