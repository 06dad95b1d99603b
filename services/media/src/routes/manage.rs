//! Reading, re-optimising and deleting media.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use common::{ApiError, Caller, Json, Path};
use serde::Deserialize;
use store::{StoreError, Txn};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{ByHash, Media, MediaView, original_key, variant_key};
use crate::pipeline::{Format, VariantSpec};
use crate::routes::upload::{derive, store_variants};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_one, delete))
        .routes(routes!(optimize))
}

async fn load(state: &AppState, id: &str) -> Result<store::Versioned<Media>, ApiError> {
    state
        .media
        .get(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("media {id}")))
}

/// A media item's metadata and variants.
#[utoipa::path(get, path = "/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = MediaView), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MediaView>, ApiError> {
    let media = load(&state, &id).await?;
    Ok(Json(MediaView::new(&id, &media.value)))
}

/// `POST /media/{id}/optimize`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    /// Longest side of each variant, 16–4096 px (default 300, 800, 1600).
    pub widths: Option<Vec<u32>>,
    /// `webp` and/or `jpeg` (default both).
    pub formats: Option<Vec<String>>,
    /// 1–100 (default 82).
    pub quality: Option<u8>,
}

/// Derive more variants from the original (owner); existing ones stay.
#[utoipa::path(post, path = "/media/{id}/optimize", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = OptimizeRequest,
    responses((status = 200, body = MediaView), (status = 403), (status = 404), (status = 422), (status = 503)))]
async fn optimize(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<OptimizeRequest>,
) -> Result<Json<MediaView>, ApiError> {
    let mut media = load(&state, &id).await?;
    if media.value.owner_id != caller.uid {
        return Err(ApiError::forbidden("only the owner may re-optimise media"));
    }
    let mut v = common::Validator::new();
    let widths = body.widths.unwrap_or_else(|| vec![300, 800, 1600]);
    v.check(
        (1..=6).contains(&widths.len()),
        "widths",
        "invalid",
        "give 1 to 6 widths",
    );
    for (i, w) in widths.iter().enumerate() {
        v.check(
            (16..=4096).contains(w),
            &format!("widths[{i}]"),
            "out_of_range",
            "between 16 and 4096",
        );
    }
    let mut formats = Vec::new();
    for (i, f) in body
        .formats
        .unwrap_or_else(|| vec!["webp".into(), "jpeg".into()])
        .iter()
        .enumerate()
    {
        match f.as_str() {
            "webp" => formats.push(Format::Webp),
            "jpeg" | "jpg" => formats.push(Format::Jpeg),
            _ => {
                v.check(false, &format!("formats[{i}]"), "invalid", "webp or jpeg");
            }
        }
    }
    v.check(
        !formats.is_empty(),
        "formats",
        "required",
        "give at least one format",
    );
    let quality = body.quality.unwrap_or(82);
    v.check(
        (1..=100).contains(&quality),
        "quality",
        "out_of_range",
        "between 1 and 100",
    );
    v.finish()?;
    let specs: Vec<VariantSpec> = widths
        .iter()
        .map(|&w| VariantSpec {
            name: format!("w{w}q{quality}"),
            max_side: w,
            formats: formats.clone(),
            quality,
        })
        .collect();
    let original = state
        .blobs
        .read(&original_key(&id))
        .await
        .map_err(ApiError::internal)?;
    let processed = derive(&state, Arc::new(original.to_vec()), specs).await?;
    // New variants join the existing ones (a name always has the same
    // bytes: derivation is deterministic); links to earlier ones keep working.
    let fresh = store_variants(&state, &id, processed).await?;
    media
        .value
        .variants
        .retain(|v| !fresh.iter().any(|n| n.name == v.name));
    media.value.variants.extend(fresh);
    state
        .media
        .update(&id, &media.value, media.version)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                ApiError::precondition_failed("the media changed meanwhile")
            }
            other => ApiError::internal(other),
        })?;
    Ok(Json(MediaView::new(&id, &media.value)))
}

/// Delete a media item's blobs (best effort; logged).
pub(crate) async fn delete_blobs(state: &AppState, id: &str, media: &Media) {
    let keys = std::iter::once(original_key(id))
        .chain(media.variants.iter().map(|v| variant_key(id, &v.name)));
    for key in keys {
        if let Err(e) = state.blobs.delete(&key).await {
            tracing::warn!(media_id = id, key, error = %e, "blob not deleted");
        }
    }
}

/// Delete a media item: its blobs and metadata (owner or admin).
#[utoipa::path(delete, path = "/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let media = load(&state, &id).await?;
    caller.require_owner_or_admin(&media.value.owner_id)?;
    let hash_key = format!("{}:{}", media.value.owner_id, media.value.sha256);
    state
        .store
        .transact(async |tx: &mut Txn| {
            tx.delete::<Media>(&id)?;
            tx.delete::<ByHash>(&hash_key)?;
            Ok::<_, StoreError>(())
        })
        .await
        .map_err(ApiError::internal)?;
    delete_blobs(&state, &id, &media.value).await;
    Ok(StatusCode::NO_CONTENT)
}
