//! `POST/GET /notifications/webhooks`, `DELETE /notifications/webhooks/{id}`,
//! `POST .../{id}/rotate` (a new secret; the old one signs too for the
//! overlap) and `POST .../{id}/enable`. A URL is checked by the SSRF guard
//! here and again at every send.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiError, Caller, Id, Json, Path, Query, Validator};
use serde::Deserialize;
use store::Txn;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::webhooks::{Endpoint, EndpointCount, EndpointView, endpoints_of};
use crate::domain::{may_see, queue::new_id};
use crate::error::NotificationError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(remove))
        .routes(routes!(rotate))
        .routes(routes!(enable))
}

/// The longest endpoint URL.
const MAX_URL: usize = 2048;

/// `POST /notifications/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `https://…` on a public address.
    #[schema(max_length = 2048)]
    pub url: String,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// Whose endpoint (admins only; default the caller).
    pub user_id: Option<Id>,
}

/// Register a webhook endpoint: its URL must be https (locally, http if
/// configured) and resolve only to public addresses. The answer carries
/// its signing secret, shown this once (and at each rotation).
#[utoipa::path(post, path = "/notifications/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewEndpoint,
    responses((status = 201, body = EndpointView),
        (status = 409, description = "too many endpoints (`too_many_endpoints`)"),
        (status = 422, description = "a URL that may not receive webhooks (private, loopback, link-local, not https, …)")))]
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewEndpoint>,
) -> Result<(StatusCode, Json<EndpointView>), NotificationError> {
    let owner = body
        .user_id
        .map(Id::into_string)
        .unwrap_or_else(|| caller.uid.clone());
    caller.require_owner_or_admin(&owner)?;
    let mut v = Validator::new();
    v.length("url", &body.url, 1, MAX_URL);
    if let Some(d) = &body.description {
        v.length("description", d, 0, 200);
    }
    v.finish()?;
    let checked = state
        .notifier
        .webhooks
        .guard
        .check(&body.url)
        .await
        .map_err(NotificationError::Refused)?;
    let max = state.notifier.settings.webhooks.max_endpoints;
    let id = new_id();
    let endpoint = Endpoint::new(
        &owner,
        checked.url.to_string(),
        body.description,
        common::time::now(),
    );
    state
        .notifier
        .store
        .transact(async |tx: &mut Txn| {
            let mut count = tx
                .get::<EndpointCount>(&owner)
                .await?
                .map(|c| c.value)
                .unwrap_or_default();
            if count.n >= max {
                return Err(NotificationError::TooManyEndpoints(max));
            }
            count.n += 1;
            tx.set(&owner, &count)?;
            tx.create(&id, &endpoint)?;
            Ok(())
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EndpointView::new(&id, &endpoint, true)),
    ))
}

/// `GET /notifications/webhooks`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Whose endpoints (default the caller's; others' for admins).
    pub user_id: Option<Id>,
}

/// Endpoints, as their owner sees them.
#[derive(Debug, serde::Serialize, Deserialize, ToSchema)]
pub struct EndpointList {
    pub items: Vec<EndpointView>,
}

/// A user's endpoints (no secrets), oldest first.
#[utoipa::path(get, path = "/notifications/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(ListParams), responses((status = 200, body = EndpointList), (status = 403)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<EndpointList>, NotificationError> {
    let owner = params
        .user_id
        .map(Id::into_string)
        .unwrap_or_else(|| caller.uid.clone());
    if !may_see(&caller, &owner) {
        return Err(
            ApiError::forbidden("only the owner or an admin may list these endpoints").into(),
        );
    }
    let max = state.notifier.settings.webhooks.max_endpoints;
    let found = endpoints_of(&state.notifier.store, &owner, max).await?;
    let items = found
        .iter()
        .map(|(id, e)| EndpointView::new(id, e, false))
        .collect();
    Ok(Json(EndpointList { items }))
}

/// Change an endpoint its caller owns (or any, for an admin) with `f`;
/// 404 for anyone else.
async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    f: impl Fn(&mut Endpoint) + Send + Sync,
) -> Result<Endpoint, NotificationError> {
    state
        .notifier
        .store
        .transact(async |tx: &mut Txn| match tx.get::<Endpoint>(id).await? {
            Some(mut e) if e.value.user_id == caller.uid || caller.is_admin() => {
                f(&mut e.value);
                tx.update(&e)?;
                Ok(e.value)
            }
            _ => Err(ApiError::not_found(format!("webhook endpoint {id}")).into()),
        })
        .await
}

/// Remove an endpoint (its owner or an admin).
#[utoipa::path(delete, path = "/notifications/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 204), (status = 404)))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<StatusCode, NotificationError> {
    state
        .notifier
        .store
        .transact(async |tx: &mut Txn| match tx.get::<Endpoint>(&id).await? {
            Some(e) if e.value.user_id == caller.uid || caller.is_admin() => {
                tx.delete::<Endpoint>(&id)?;
                let owner = &e.value.user_id;
                let mut count = tx
                    .get::<EndpointCount>(owner)
                    .await?
                    .map(|c| c.value)
                    .unwrap_or_default();
                count.n = count.n.saturating_sub(1);
                tx.set(owner, &count)?;
                Ok(())
            }
            _ => Err(NotificationError::from(ApiError::not_found(format!(
                "webhook endpoint {id}"
            )))),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret (shown once). The previous one signs as well
/// for the configured overlap, so receivers can switch without a gap.
#[utoipa::path(post, path = "/notifications/webhooks/{id}/rotate", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = EndpointView), (status = 404)))]
async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<EndpointView>, NotificationError> {
    let now = common::time::now();
    let overlap = Duration::from_secs(state.notifier.settings.webhooks.rotation_overlap_secs);
    let e = change(&state, &caller, &id, |e| e.rotate(now, overlap)).await?;
    Ok(Json(EndpointView::new(&id, &e, true)))
}

/// Enable a disabled endpoint again (its URL is checked again first).
#[utoipa::path(post, path = "/notifications/webhooks/{id}/enable", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Id, Path)),
    responses((status = 200, body = EndpointView), (status = 404),
        (status = 422, description = "its URL may no longer receive webhooks")))]
async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<EndpointView>, NotificationError> {
    let current = match state
        .notifier
        .store
        .collection::<Endpoint>()
        .get(&id)
        .await?
    {
        Some(e) if e.value.user_id == caller.uid || caller.is_admin() => e.value,
        _ => return Err(ApiError::not_found(format!("webhook endpoint {id}")).into()),
    };
    state
        .notifier
        .webhooks
        .guard
        .check(&current.url)
        .await
        .map_err(NotificationError::Refused)?;
    let e = change(&state, &caller, &id, |e| {
        e.enabled = true;
        e.disabled_reason = None;
        e.failing_since = None;
    })
    .await?;
    Ok(Json(EndpointView::new(&id, &e, false)))
}
