//! `POST /media/upload`: multipart, one or more files. Each file's format
//! is sniffed from its bytes (never its name or declared type), its size
//! checked from its header before any pixel is decoded, and its variants
//! made off the async runtime under a concurrency limit.

use std::time::Duration;

use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use common::identity::Role;
use common::{ApiError, Caller, Json};
use events::v1::MediaUploaded;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{StoreError, Txn};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{ByHash, Media, MediaView, Placeholder, Variant, original_key, variant_key};
use crate::pipeline::{self, Limits, PipelineError, VariantSpec};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload))
}

/// The answer to an upload: one item per file, in order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Uploaded {
    pub items: Vec<MediaView>,
}

/// Map a pipeline failure to its problem.
pub(crate) fn pipeline_error(e: PipelineError) -> ApiError {
    match e {
        PipelineError::Unsupported => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "only JPEG, PNG and WebP images are accepted",
        ),
        PipelineError::Corrupt(reason) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "corrupt_image",
            format!("the image cannot be read: {reason}"),
        ),
        PipelineError::TooLarge { width, height } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "image_too_large",
            format!("the image declares {width}×{height} pixels, more than accepted"),
        ),
        PipelineError::FileTooLarge { max, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("each file may have at most {max} bytes"),
        ),
        other => ApiError::internal(anyhow::anyhow!("image pipeline: {other}")),
    }
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the upload is too large",
        )
    } else {
        ApiError::bad_request("bad_multipart", e.body_text())
    }
}

pub(crate) fn limits(state: &AppState) -> Limits {
    Limits {
        max_bytes: state.settings.max_file_bytes,
        max_pixels: state.settings.max_pixels,
        max_side: state.settings.max_side,
    }
}

/// Upload images (artisan or admin): multipart fields `file` (one or
/// more), optional `product_id`, optional `optimize` (default true).
#[utoipa::path(post, path = "/media/upload", tag = "media", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "file (repeatable), product_id, optimize"),
    responses((status = 201, body = Uploaded), (status = 413), (status = 415), (status = 422), (status = 503)))]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let mut files: Vec<Vec<u8>> = Vec::new();
    let mut product_id = None;
    let mut optimize = true;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if bytes.len() + chunk.len() > state.settings.max_file_bytes {
                        return Err(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "payload_too_large",
                            format!(
                                "each file may have at most {} bytes",
                                state.settings.max_file_bytes
                            ),
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                files.push(bytes);
            }
            "product_id" => {
                let text = field.text().await.map_err(multipart_error)?;
                if text.trim().is_empty() || text.len() > 100 {
                    return Err(ApiError::invalid_field(
                        "product_id",
                        "invalid",
                        "must be 1–100 characters",
                    ));
                }
                product_id = Some(text.trim().to_owned());
            }
            "optimize" => {
                let text = field.text().await.map_err(multipart_error)?;
                optimize = match text.trim() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::invalid_field(
                            "optimize",
                            "invalid",
                            "must be true or false",
                        ));
                    }
                };
            }
            other => {
                return Err(ApiError::invalid_field(
                    other,
                    "unknown_field",
                    "expected file, product_id or optimize",
                ));
            }
        }
    }
    if files.is_empty() {
        return Err(ApiError::invalid_field(
            "file",
            "required",
            "attach at least one file",
        ));
    }
    if files.len() > 10 {
        return Err(ApiError::invalid_field(
            "file",
            "too_many",
            "at most 10 files per upload",
        ));
    }
    // Check every file before storing any, so a bad one changes nothing.
    for bytes in &files {
        pipeline::probe(bytes, &limits(&state)).map_err(pipeline_error)?;
    }
    let specs = if optimize {
        pipeline::default_variants()
    } else {
        Vec::new()
    };
    let mut items = Vec::with_capacity(files.len());
    for bytes in files {
        items.push(ingest(&state, &caller, bytes, product_id.clone(), &specs).await?);
    }
    Ok((StatusCode::CREATED, Json(Uploaded { items })))
}

/// Make the variants of `bytes` under the concurrency limit.
pub(crate) async fn derive(
    state: &AppState,
    bytes: std::sync::Arc<Vec<u8>>,
    specs: Vec<VariantSpec>,
) -> Result<pipeline::Processed, ApiError> {
    let permit = state.jobs.clone().try_acquire_owned().map_err(|_| {
        ApiError::unavailable(
            Duration::from_secs(2),
            "too many images are being processed; retry shortly",
        )
    })?;
    let limits = limits(state);
    let processed = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        pipeline::process(&bytes, &limits, &specs)
    })
    .await
    .map_err(ApiError::internal)?;
    processed.map_err(pipeline_error)
}

/// Store the variants' blobs and describe them.
pub(crate) async fn store_variants(
    state: &AppState,
    id: &str,
    processed: pipeline::Processed,
) -> Result<Vec<Variant>, ApiError> {
    let mut variants = Vec::with_capacity(processed.variants.len());
    for v in processed.variants {
        let name = format!("{}.{}", v.variant, v.format.extension());
        let variant = Variant {
            content_type: v.format.mime().to_owned(),
            width: v.width,
            height: v.height,
            bytes: v.bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&v.bytes)),
            name: name.clone(),
        };
        state
            .blobs
            .put(&variant_key(id, &name), v.bytes)
            .await
            .map_err(ApiError::internal)?;
        variants.push(variant);
    }
    Ok(variants)
}

async fn ingest(
    state: &AppState,
    caller: &Caller,
    bytes: Vec<u8>,
    product_id: Option<String>,
    specs: &[VariantSpec],
) -> Result<MediaView, ApiError> {
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let hash_key = format!("{}:{sha256}", caller.uid);
    if let Some(existing) = existing(state, &hash_key).await? {
        return Ok(existing);
    }
    let bytes = std::sync::Arc::new(bytes);
    let processed = derive(state, bytes.clone(), specs.to_vec()).await?;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let (format, width, height) = (processed.format, processed.width, processed.height);
    let placeholder = (!processed.variants.is_empty()).then(|| Placeholder {
        blurhash: processed.placeholder.blurhash.clone(),
        dominant_color: processed.placeholder.dominant_color.clone(),
    });
    state
        .blobs
        .put(&original_key(&id), bytes.to_vec())
        .await
        .map_err(ApiError::internal)?;
    let variants = store_variants(state, &id, processed).await?;
    let media = Media {
        owner_id: caller.uid.clone(),
        product_id,
        format: format.extension().to_owned(),
        width,
        height,
        bytes: bytes.len() as u64,
        sha256: sha256.clone(),
        variants,
        placeholder,
        created_at: common::time::now(),
    };
    let saved = state
        .store
        .transact(async |tx: &mut Txn| {
            tx.create(
                &hash_key,
                &ByHash {
                    media_id: id.clone(),
                },
            )?;
            tx.create(&id, &media)?;
            state.publisher.emit(
                tx,
                &id,
                &MediaUploaded {
                    media_id: id.clone(),
                    owner_id: media.owner_id.clone(),
                    sha256: media.sha256.clone(),
                    product_id: media.product_id.clone().unwrap_or_default(),
                    width: media.width,
                    height: media.height,
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .await;
    match saved {
        Ok(()) => Ok(MediaView::new(&id, &media)),
        // The same bytes were stored meanwhile by a concurrent upload.
        Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
            crate::routes::manage::delete_blobs(state, &id, &media).await;
            existing(state, &hash_key)
                .await?
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("duplicate upload vanished")))
        }
        Err(e) => {
            crate::routes::manage::delete_blobs(state, &id, &media).await;
            Err(ApiError::internal(e))
        }
    }
}

async fn existing(state: &AppState, hash_key: &str) -> Result<Option<MediaView>, ApiError> {
    let Some(link) = state
        .store
        .collection::<ByHash>()
        .get(hash_key)
        .await
        .map_err(ApiError::internal)?
    else {
        return Ok(None);
    };
    Ok(state
        .media
        .get(&link.value.media_id)
        .await
        .map_err(ApiError::internal)?
        .map(|m| MediaView::new(&m.id, &m.value)))
}
