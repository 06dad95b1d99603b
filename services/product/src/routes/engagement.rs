//! Engagement: views (counted in memory on detail reads and written in
//! batches, never a write per view), likes (one per user, undoable) and
//! shares, each announced to analytics.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiError, Caller, Json, Path};
use events::v1::EngagementRecorded;
use serde::{Deserialize, Serialize};
use store::{Entity, StoreError, Txn};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::products::{Engagement, Product};
use crate::error;
use crate::routes::products::visible;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(like, unlike))
        .routes(routes!(share))
}

/// One user's like of one product (`{product}:{user}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Like {
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Entity for Like {
    const COLLECTION: &'static str = "likes";
}

/// Count a view in memory.
pub fn count_view(state: &AppState, product_id: &str) {
    if let Ok(mut views) = state.views.lock() {
        *views.entry(product_id.to_owned()).or_default() += 1;
    }
}

/// Write the counted views every `every` until cancelled (and once more then).
pub async fn flush_views(state: AppState, every: Duration, cancel: CancellationToken) {
    loop {
        let stop = tokio::select! {
            () = cancel.cancelled() => true,
            () = tokio::time::sleep(every) => false,
        };
        let batch: HashMap<String, u64> = state
            .views
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        for (id, count) in batch {
            if let Err(e) = bump(&state, &id, "view", count, "", "").await {
                tracing::warn!(product_id = id, error = %e, "views not saved");
                if let Ok(mut views) = state.views.lock() {
                    *views.entry(id).or_default() += count;
                }
            }
        }
        if stop {
            break;
        }
    }
}

/// Add `count` to a counter and announce it, in one transaction.
async fn bump(
    state: &AppState,
    id: &str,
    kind: &str,
    count: u64,
    user: &str,
    channel: &str,
) -> Result<(), StoreError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            let Some(product) = tx.get::<Product>(id).await? else {
                return Ok(());
            };
            apply(tx, id, kind, count).await?;
            emit(
                state,
                tx,
                id,
                &product.value.artisan_id,
                kind,
                count,
                user,
                channel,
            )?;
            Ok(())
        })
        .await
}

async fn apply(tx: &mut Txn, id: &str, kind: &str, count: u64) -> Result<(), StoreError> {
    let mut e = tx
        .get::<Engagement>(id)
        .await?
        .map(|e| e.value)
        .unwrap_or_default();
    match kind {
        "view" => e.views += count,
        "like" => e.likes += count,
        "unlike" => e.likes = e.likes.saturating_sub(count),
        _ => e.shares += count,
    }
    tx.set(id, &e)
}

#[allow(clippy::too_many_arguments)]
fn emit(
    state: &AppState,
    tx: &mut Txn,
    id: &str,
    artisan: &str,
    kind: &str,
    count: u64,
    user: &str,
    channel: &str,
) -> Result<(), StoreError> {
    state
        .publisher
        .emit(
            tx,
            id,
            &EngagementRecorded {
                product_id: id.to_owned(),
                artisan_id: artisan.to_owned(),
                kind: kind.to_owned(),
                count,
                user_id: user.to_owned(),
                channel: channel.to_owned(),
            },
        )
        .map(|_| ())
}

/// Counters after a like, unlike or share.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Counters {
    pub liked: bool,
    pub engagement: Engagement,
}

async fn set_like(
    state: &AppState,
    caller: &Caller,
    id: &str,
    liked: bool,
) -> Result<Json<Counters>, ApiError> {
    let product = visible(state, id, Some(caller)).await?;
    let key = format!("{id}:{}", caller.uid);
    state
        .store
        .transact(async |tx: &mut Txn| {
            let existing = tx.get::<Like>(&key).await?;
            match (existing.is_some(), liked) {
                (false, true) => {
                    tx.create(
                        &key,
                        &Like {
                            at: common::time::now(),
                        },
                    )?;
                    apply(tx, id, "like", 1).await?;
                    emit(
                        state,
                        tx,
                        id,
                        &product.value.artisan_id,
                        "like",
                        1,
                        &caller.uid,
                        "",
                    )?;
                }
                (true, false) => {
                    tx.delete::<Like>(&key)?;
                    apply(tx, id, "unlike", 1).await?;
                    emit(
                        state,
                        tx,
                        id,
                        &product.value.artisan_id,
                        "unlike",
                        1,
                        &caller.uid,
                        "",
                    )?;
                }
                // Already as asked: nothing changes (idempotent).
                _ => {}
            }
            Ok::<_, StoreError>(())
        })
        .await
        .map_err(error::store)?;
    let engagement = state
        .engagement
        .get(id)
        .await
        .map_err(error::store)?
        .map(|e| e.value)
        .unwrap_or_default();
    Ok(Json(Counters { liked, engagement }))
}

/// Like a product (once per user; liking again changes nothing).
#[utoipa::path(put, path = "/products/{id}/like", tag = "engagement", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Counters), (status = 404)))]
async fn like(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Counters>, ApiError> {
    set_like(&state, &caller, &id, true).await
}

/// Undo a like.
#[utoipa::path(delete, path = "/products/{id}/like", tag = "engagement", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Counters), (status = 404)))]
async fn unlike(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Counters>, ApiError> {
    set_like(&state, &caller, &id, false).await
}

/// `POST /products/{id}/share`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// Where it was shared: whatsapp, instagram, facebook, x, email, link.
    pub channel: String,
}

const CHANNELS: &[&str] = &["whatsapp", "instagram", "facebook", "x", "email", "link"];

/// Record a share.
#[utoipa::path(post, path = "/products/{id}/share", tag = "engagement", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ShareBody, responses((status = 202), (status = 404), (status = 422)))]
async fn share(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ShareBody>,
) -> Result<StatusCode, ApiError> {
    if !CHANNELS.contains(&body.channel.as_str()) {
        return Err(ApiError::invalid_field(
            "channel",
            "invalid",
            format!("expected one of {}", CHANNELS.join(", ")),
        ));
    }
    visible(&state, &id, Some(&caller)).await?;
    bump(&state, &id, "share", 1, &caller.uid, &body.channel)
        .await
        .map_err(error::store)?;
    Ok(StatusCode::ACCEPTED)
}
