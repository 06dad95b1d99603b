//! `POST /ml/analyze-image`: an uploaded photo, or one of the media
//! service's by id, measured.

use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use common::extract::Multipart;
use common::identity::Role;
use common::{Caller, Id, Json};
use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::image::Analysis;
use crate::error::MlError;
use crate::providers::{DetectedObject, Label, MAX_INLINE_IMAGE_BYTES, Vision};
use crate::state::AppState;

/// What a vision model recognised in the photo, or why nothing did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Recognition {
    Annotated {
        model: String,
        labels: Vec<Label>,
        objects: Vec<DetectedObject>,
        /// Likelihood per category (`adult`, `violence`, `racy`, …).
        safe_search: BTreeMap<String, String>,
    },
    /// No vision provider, or a photo too large to send.
    Unavailable { reason: String },
    /// The provider failed; the measurements above stand.
    Failed { reason: String },
}

/// The measurements, and what a vision model recognised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImageAnalysis {
    #[serde(flatten)]
    pub analysis: Analysis,
    pub recognition: Recognition,
}

/// Ask `vision` (if any) about `bytes`.
async fn recognise(vision: Option<&Arc<dyn Vision>>, bytes: &[u8]) -> Recognition {
    let Some(vision) = vision else {
        return Recognition::Unavailable {
            reason: "no vision provider is configured: objects and labels are not computed locally"
                .to_owned(),
        };
    };
    if bytes.len() > MAX_INLINE_IMAGE_BYTES {
        return Recognition::Unavailable {
            reason: format!(
                "the photo is {} bytes; at most {MAX_INLINE_IMAGE_BYTES} are sent to the vision provider",
                bytes.len()
            ),
        };
    }
    match vision.annotate(bytes).await {
        Ok(a) => Recognition::Annotated {
            model: vision.model(),
            labels: a.labels,
            objects: a.objects,
            safe_search: a.safe_search,
        },
        Err(e) => Recognition::Failed {
            reason: e.to_string(),
        },
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analyze_image))
}

/// The form of an upload: one part, `file`.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct AnalyzeForm {
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
/// tags from the palette and composition; and labels, objects and safe
/// search from the vision provider when one is configured (`recognition`
/// says which, or why there are none). Send the photo as
/// `multipart/form-data` (part `file`), or `{"media_id"}` as JSON.
/// Artisans, admins and services.
#[utoipa::path(post, path = "/ml/analyze-image", tag = "ml", security(("bearer" = [])),
    request_body(content(
        (AnalyzeForm = "multipart/form-data"),
        (AnalyzeMedia = "application/json"))),
    responses((status = 200, body = ImageAnalysis),
        (status = 400, description = "bad_image_form"),
        (status = 404, description = "no such media item, or not one the caller may see")))]
async fn analyze_image(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<ImageAnalysis>, MlError> {
    caller.require(&[Role::Artisan, Role::Admin, Role::Service])?;
    let (slot, bytes, size) = photo(&state, request).await?;
    let analysis = state.analyser.analyse_in(slot, bytes.clone(), size).await?;
    let recognition = recognise(state.providers.vision.as_ref(), &bytes).await;
    Ok(Json(ImageAnalysis {
        analysis,
        recognition,
    }))
}

/// The photo a request sends — multipart part `file`, or `{"media_id"}`
/// fetched with the caller's token — with a place among the analyses
/// (taken before an upload is read, so only uploads being analysed are
/// held in memory) and the original's size when the bytes are a variant.
pub(crate) async fn photo(
    state: &AppState,
    request: Request,
) -> Result<(OwnedSemaphorePermit, bytes::Bytes, Option<(u32, u32)>), MlError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let slot = state.analyser.slot().await?;
        let Multipart(form) = Multipart::from_request(request, state).await?;
        let bytes = read_file(form, state.max_image_bytes).await?;
        return Ok((slot, bytes, None));
    }
    let Json(body) = Json::<AnalyzeMedia>::from_request(request, state).await?;
    let id = body.media_id.into_string();
    let photo = state
        .media
        .photo(&id)
        .await?
        .ok_or(MlError::MediaNotFound(id))?;
    let slot = state.analyser.slot().await?;
    Ok((slot, photo.bytes, Some((photo.width, photo.height))))
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
