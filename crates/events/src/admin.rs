//! Admin endpoints over a service's dead-letter list: list the events that
//! exhausted their attempts, and replay one (it goes back to pending; the
//! subscribers that had acknowledged it are not pushed again). Internal:
//! the gateway never routes `/admin`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json as AxumJson, Router};
use common::identity::Authenticator;
use common::pagination::invalid_cursor;
use common::{ApiError, Caller, Page, PageParams, Path, Query, Role};
use store::{Collection, Cursor, Store, StoreError};

use crate::outbox::{OutboxEntry, OutboxStatus};

#[derive(Clone)]
struct AdminState {
    outbox: Collection<OutboxEntry>,
    auth: Arc<Authenticator>,
}

impl axum::extract::FromRef<AdminState> for Arc<Authenticator> {
    fn from_ref(state: &AdminState) -> Self {
        state.auth.clone()
    }
}

/// `GET /admin/events/dead-letters` and `POST /admin/events/dead-letters/{id}/replay`.
pub fn dead_letter_router(store: &Store, auth: Arc<Authenticator>) -> Router {
    Router::new()
        .route("/admin/events/dead-letters", get(list))
        .route("/admin/events/dead-letters/{event_id}/replay", post(replay))
        .with_state(AdminState {
            outbox: store.collection(),
            auth,
        })
}

async fn list(
    State(state): State<AdminState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<AxumJson<Page<OutboxEntry>>, ApiError> {
    caller.require(&[Role::Admin])?;
    let cursor = params
        .cursor
        .as_deref()
        .map(Cursor::parse)
        .transpose()
        .map_err(|_| invalid_cursor())?;
    let query = store::Query::new()
        .eq("status", "dead")
        .limit(params.limit()?)
        .after(cursor);
    let (items, next) = state
        .outbox
        .query(&query)
        .await
        .map_err(crate::store_problem)?;
    Ok(AxumJson(Page::new(
        items.into_iter().map(|v| v.value).collect(),
        next.map(|c| c.to_string()),
    )))
}

async fn replay(
    State(state): State<AdminState>,
    caller: Caller,
    Path(event_id): Path<String>,
) -> Result<AxumJson<OutboxEntry>, ApiError> {
    caller.require(&[Role::Admin])?;
    let entry = state
        .outbox
        .get(&event_id)
        .await
        .map_err(crate::store_problem)?
        .ok_or_else(|| ApiError::not_found(format!("dead letter {event_id}")))?;
    if entry.value.status != OutboxStatus::Dead {
        return Err(ApiError::conflict(
            crate::codes::NOT_DEAD,
            "only a dead-lettered event can be replayed",
        ));
    }
    let mut value = entry.value;
    value.status = OutboxStatus::Pending;
    value.attempts = 0;
    value.next_attempt_at = common::time::now();
    state
        .outbox
        .update(&event_id, &value, entry.version)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ApiError::conflict(crate::codes::CHANGED, "the entry changed; try again")
            }
            other => crate::store_problem(other),
        })?;
    tracing::info!(event_id, "dead letter replayed");
    Ok(AxumJson(value))
}
