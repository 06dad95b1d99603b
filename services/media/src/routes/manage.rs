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

/// The largest body of these routes (an optimize request is a few dozen
/// bytes; the service's limit is sized for uploads).
const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_one, delete))
        .routes(routes!(optimize))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// A media item's metadata and variants: to its owner, admins and
/// services, and to everyone once an active product uses it (else 404).
#[utoipa::path(get, path = "/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = MediaView), (status = 404)))]
async fn get_one(
    State(library): State<Library>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<MediaView>, MediaError> {
    let (media, _) = library.visible(&id, Some(&caller)).await?;
    Ok(Json(MediaView::new(&id, &media.value)))
}

/// `POST /media/{id}/optimize`. Bounded as a whole: at most
/// [`MAX_WIDTHS`] widths and [`FORMATS`]' two formats, duplicates removed
/// (`jpg` is `jpeg`), so one request makes at most [`MAX_JOBS`] encodes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    #[serde(
        default,
        deserialize_with = "common::bounded::opt_vec::<_, _, MAX_WIDTHS>"
    )]
    #[schema(schema_with = widths_schema)]
    pub widths: Option<Vec<u32>>,
    #[serde(default, deserialize_with = "common::bounded::opt_vec::<_, _, 3>")]
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
/// The most encodes one request makes: each distinct width in each
/// distinct format.
pub const MAX_JOBS: usize = MAX_WIDTHS * 2;

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
            .max_items(Some(FORMATS.len()))
            .description(Some("`webp` and/or `jpeg` (or `jpg`); default both.")),
    )
}

impl OptimizeRequest {
    /// The variants asked for, named `w{px}q{quality}`, each distinct
    /// width once in each distinct format; 422 naming every wrong field.
    fn specs(self) -> Result<Vec<VariantSpec>, MediaError> {
        let mut v = Validator::new();
        let mut widths = self.widths.unwrap_or_else(|| vec![300, 800, 1600]);
        v.check(
            !widths.is_empty(),
            "widths",
            "required",
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
        widths.sort_unstable();
        widths.dedup();
        let mut formats = Vec::with_capacity(2);
        for (i, f) in self
            .formats
            .unwrap_or_else(|| vec!["webp".into(), "jpeg".into()])
            .iter()
            .enumerate()
        {
            let format = match f.as_str() {
                "webp" => Format::Webp,
                "jpeg" | "jpg" => Format::Jpeg,
                _ => {
                    v.check(false, &format!("formats[{i}]"), "invalid", "webp or jpeg");
                    continue;
                }
            };
            if !formats.contains(&format) {
                formats.push(format);
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
        debug_assert!(widths.len() * formats.len() <= MAX_JOBS);
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
    let (media, _) = library.visible(&id, Some(&caller)).await?;
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
