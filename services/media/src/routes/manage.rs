//! Reading, re-optimising and deleting media.

use axum::extract::State;
use axum::http::StatusCode;
use common::{Caller, Id, Json, Path, Validator, schema};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::pipeline::{Format, VariantSpec};
use crate::domain::{Library, MediaView};
use crate::error::MediaError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_one, delete))
        .routes(routes!(optimize))
}

/// A media item's metadata and variants.
#[utoipa::path(get, path = "/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = MediaView), (status = 404)))]
async fn get_one(
    State(library): State<Library>,
    _caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<MediaView>, MediaError> {
    let media = library.get(&id).await?;
    Ok(Json(MediaView::new(&id, &media.value)))
}

/// `POST /media/{id}/optimize`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    #[schema(schema_with = widths_schema)]
    pub widths: Option<Vec<u32>>,
    #[schema(schema_with = formats_schema)]
    pub formats: Option<Vec<String>>,
    /// 1–100 (default 82).
    #[schema(minimum = 1, maximum = 100)]
    pub quality: Option<u8>,
}

/// The narrowest and widest variant, and how many one request makes.
const MIN_WIDTH: u32 = 16;
const MAX_WIDTH: u32 = 4096;
const MAX_WIDTHS: usize = 6;

/// The names of the formats variants can be made in.
const FORMATS: [&str; 3] = ["webp", "jpeg", "jpg"];

fn widths_schema() -> Schema {
    schema::or_null(
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                    .minimum(Some(MIN_WIDTH))
                    .maximum(Some(MAX_WIDTH)),
            )
            .min_items(Some(1))
            .max_items(Some(MAX_WIDTHS))
            .description(Some(
                "Longest side of each variant, 16–4096 px; 1 to 6 of them (default 300, 800, 1600).",
            )),
    )
}

fn formats_schema() -> Schema {
    schema::or_null(
        ArrayBuilder::new()
            .items(schema::string_enum(FORMATS))
            .min_items(Some(1))
            .description(Some("`webp` and/or `jpeg` (or `jpg`); default both.")),
    )
}

impl OptimizeRequest {
    /// The variants asked for, named `w{px}q{quality}`; 422 naming every
    /// wrong field.
    fn specs(self) -> Result<Vec<VariantSpec>, MediaError> {
        let mut v = Validator::new();
        let widths = self.widths.unwrap_or_else(|| vec![300, 800, 1600]);
        v.check(
            (1..=MAX_WIDTHS).contains(&widths.len()),
            "widths",
            "invalid",
            "give 1 to 6 widths",
        );
        for (i, w) in widths.iter().enumerate() {
            v.check(
                (MIN_WIDTH..=MAX_WIDTH).contains(w),
                &format!("widths[{i}]"),
                "out_of_range",
                "between 16 and 4096",
            );
        }
        let mut formats = Vec::new();
        for (i, f) in self
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
        let quality = self.quality.unwrap_or(82);
        v.check(
            (1..=100).contains(&quality),
            "quality",
            "out_of_range",
            "between 1 and 100",
        );
        v.finish()?;
        Ok(widths
            .iter()
            .map(|&w| VariantSpec {
                name: format!("w{w}q{quality}"),
                max_side: w,
                formats: formats.clone(),
                quality,
            })
            .collect())
    }
}

/// Derive more variants from the original (owner); existing ones stay.
#[utoipa::path(post, path = "/media/{id}/optimize", tag = "media", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = OptimizeRequest,
    responses((status = 200, body = MediaView), (status = 403), (status = 404),
        (status = 412, description = "the media changed meanwhile; try again"), (status = 422),
        (status = 503, description = "too many images are being processed; retry shortly")))]
async fn optimize(
    State(library): State<Library>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(body): Json<OptimizeRequest>,
) -> Result<Json<MediaView>, MediaError> {
    let media = library.get(&id).await?;
    media.value.ensure_owner(&caller)?;
    let specs = body.specs()?;
    Ok(Json(library.optimize(media, specs).await?))
}

/// Delete a media item: its blobs and metadata (owner or admin).
#[utoipa::path(delete, path = "/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn delete(
    State(library): State<Library>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<StatusCode, MediaError> {
    library.delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
