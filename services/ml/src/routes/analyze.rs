//! `POST /ml/analyze-image`: an uploaded photo, or one of the media
//! service's by id, measured.

use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use common::extract::Multipart;
use common::identity::Role;
use common::{Caller, Id, Json};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::image::Analysis;
use crate::error::MlError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analyze_image))
}

/// The form of an upload: one part, `file`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct AnalyzeForm {
    /// The photo: JPEG, PNG or WebP by its bytes (anything else is 415),
    /// within the size and pixel limits (413, 422).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A photo the media service holds.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeMedia {
    /// One the caller may see (their own, or one an active product shows).
    pub media_id: Id,
}

/// Measure a photo: its palette (k-means in Lab: hex, RGB, share, name),
/// its quality (each measured part, its score and weight, combined into a
/// 0–1 score and a grade), tips derived from the measurements, and style
/// tags from the palette and composition. Send the photo as
/// `multipart/form-data` (part `file`), or `{"media_id"}` as JSON.
/// Artisans, admins and services.
#[utoipa::path(post, path = "/ml/analyze-image", tag = "ml", security(("bearer" = [])),
    request_body(content(
        (AnalyzeForm = "multipart/form-data"),
        (AnalyzeMedia = "application/json"))),
    responses((status = 200, body = Analysis),
        (status = 400, description = "bad_image_form"),
        (status = 404, description = "no such media item, or not one the caller may see")))]
async fn analyze_image(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<Analysis>, MlError> {
    caller.require(&[Role::Artisan, Role::Admin, Role::Service])?;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        // The place first, then the upload: only uploads being analysed
        // are held in memory.
        let slot = state.analyser.slot().await?;
        let Multipart(form) = Multipart::from_request(request, &state).await?;
        let bytes = read_file(form, state.max_image_bytes).await?;
        return Ok(Json(state.analyser.analyse_in(slot, bytes, None).await?));
    }
    let (bytes, size) = {
        let Json(body) = Json::<AnalyzeMedia>::from_request(request, &state).await?;
        let id = body.media_id.into_string();
        let photo = state
            .media
            .photo(&id)
            .await?
            .ok_or(MlError::MediaNotFound(id))?;
        (photo.bytes, Some((photo.width, photo.height)))
    };
    Ok(Json(state.analyser.analyse(bytes, size).await?))
}

/// The one part `file`, at most `max` bytes (413 past it, read no further).
async fn read_file(
    mut form: axum::extract::Multipart,
    max: usize,
) -> Result<bytes::Bytes, MlError> {
    let bad = |e: axum::extract::multipart::MultipartError| MlError::BadForm(e.body_text());
    let mut file = None;
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        if field.name() != Some("file") || file.is_some() {
            let name = field.name().unwrap_or("").to_owned();
            return Err(MlError::Invalid(common::FieldError::new(
                name,
                "unexpected",
                "send one part, `file`",
            )));
        }
        let mut bytes = bytes::BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if bytes.len() + chunk.len() > max {
                return Err(imaging::PipelineError::FileTooLarge {
                    len: bytes.len() + chunk.len(),
                    max,
                }
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some(bytes.freeze());
    }
    file.ok_or_else(|| {
        MlError::Invalid(common::FieldError::new(
            "file",
            "required",
            "send the photo as part `file`",
        ))
    })
}
