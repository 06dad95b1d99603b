//! `POST /media/upload`: multipart, one or more files. Each file's format
//! is sniffed from its bytes (never its name or declared type), its size
//! checked from its header before any pixel is decoded, and its variants
//! made off the async runtime under a concurrency limit.

use axum::extract::State;
use axum::extract::multipart::Field;
use axum::http::StatusCode;
use common::extract::Multipart;
use common::identity::Role;
use common::{Caller, Id, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{Library, MAX_FILES, MediaView, Upload};
use crate::error::MediaError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload))
}

/// The answer to an upload: one item per file, in order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Uploaded {
    pub items: Vec<MediaView>,
}

/// The form of an upload (its description; the handler reads the parts
/// one by one as they stream in). Other parts are refused (422).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct UploadForm {
    /// The images, one part each: JPEG, PNG or WebP by their bytes
    /// (anything else is 415), each within the size and pixel limits
    /// (413, 422).
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1, max_items = 10)]
    file: Vec<Vec<u8>>,
    /// The product they show, if any.
    product_id: Option<Id>,
    /// Make the variants (default `true`).
    optimize: Option<bool>,
}

/// Upload images (artisan or admin): multipart fields `file` (one or
/// more), optional `product_id`, optional `optimize` (default true).
#[utoipa::path(post, path = "/media/upload", tag = "media", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Uploaded),
        (status = 400, description = "the multipart body cannot be read"),
        (status = 403, description = "only artisans and admins upload"),
        (status = 413, description = "a file or the request is too large"),
        (status = 415, description = "not multipart/form-data, or a file that is not a JPEG, PNG or WebP image"),
        (status = 422, description = "no file, too many, an unknown part, or an image that cannot be read or has too many pixels"),
        (status = 503, description = "too many images are being processed; retry shortly")))]
async fn upload(
    State(library): State<Library>,
    caller: Caller,
    Multipart(mut multipart): Multipart,
) -> Result<(StatusCode, Json<Uploaded>), MediaError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let mut form = Upload {
        files: Vec::new(),
        product_id: None,
        optimize: true,
    };
    while let Some(field) = multipart.next_field().await? {
        match field.name().unwrap_or_default() {
            "file" if form.files.len() == MAX_FILES => {
                return Err(MediaError::invalid(
                    "file",
                    "too_many",
                    format!("at most {MAX_FILES} files per upload"),
                ));
            }
            "file" => form
                .files
                .push(read_file(field, library.limits().max_bytes).await?),
            "product_id" => {
                let text = read_text(field, "product_id").await?;
                let id = Id::parse(text.trim())
                    .map_err(|e| MediaError::invalid("product_id", "invalid", e.to_string()))?;
                form.product_id = Some(id);
            }
            "optimize" => {
                form.optimize = match read_text(field, "optimize").await?.trim() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(MediaError::invalid(
                            "optimize",
                            "invalid",
                            "must be true or false",
                        ));
                    }
                };
            }
            other => {
                let other: String = other.chars().take(64).collect();
                return Err(MediaError::invalid(
                    &other,
                    "unknown_field",
                    "expected file, product_id or optimize",
                ));
            }
        }
    }
    let items = library.upload(&caller, form).await?;
    Ok((StatusCode::CREATED, Json(Uploaded { items })))
}

/// A file's bytes, refused as soon as they pass `max` bytes.
async fn read_file(mut field: Field<'_>, max: usize) -> Result<Vec<u8>, MediaError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > max {
            return Err(MediaError::FileTooLarge { max });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The longest text part (`product_id`, `optimize`), in bytes.
const MAX_TEXT_PART: usize = 64;

/// A text part's value, refused as soon as it passes [`MAX_TEXT_PART`].
async fn read_text(mut field: Field<'_>, name: &str) -> Result<String, MediaError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > MAX_TEXT_PART {
            return Err(MediaError::invalid(
                name,
                "too_long",
                format!("at most {MAX_TEXT_PART} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| MediaError::invalid(name, "invalid", "not UTF-8 text"))
}
