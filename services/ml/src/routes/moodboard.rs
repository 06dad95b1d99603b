//! `POST /ml/generate-moodboard`.

use axum::extract::{Request, State};
use common::identity::Role;
use common::{Caller, Json};
use serde::{Deserialize, Serialize};
use store::Query;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::analyze::{AnalyzeForm, AnalyzeMedia, photo};
use crate::domain::image::Swatch;
use crate::domain::jobs::ProductAnalysis;
use crate::domain::listing::Listing;
use crate::domain::media::Stored;
use crate::domain::moodboard::{self, Alignment, MAX_CANDIDATES, SimilarProduct, THUMBNAILS};
use crate::error::MlError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(generate_moodboard))
}

/// A moodboard and what it was made from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Moodboard {
    /// The PNG, stored as the caller's media (its largest variant's path;
    /// public once an active product uses it, else to its owner).
    pub moodboard: Stored,
    pub color_palette: Vec<Swatch>,
    /// The photo's style tags, from its measured palette and composition.
    pub style_inspiration: Vec<String>,
    pub market_alignment: Alignment,
    /// Active listings with the nearest palettes, nearest first.
    pub similar_products: Vec<SimilarProduct>,
}

/// Compose a moodboard from a photo (multipart part `file`, or
/// `{"media_id"}`): the photo, its palette as swatches sized by share,
/// and thumbnails of the active listings whose palettes are nearest (ΔE
/// over at most 2,000 analysed products); stored through the media service
/// as the caller's, with the palette, the similar products and a
/// market-alignment score (against the active listings) explained by its
/// parts. Artisans and admins.
#[utoipa::path(post, path = "/ml/generate-moodboard", tag = "ml", security(("bearer" = [])),
    request_body(content(
        (AnalyzeForm = "multipart/form-data"),
        (AnalyzeMedia = "application/json"))),
    responses((status = 200, body = Moodboard),
        (status = 400, description = "bad_image_form"),
        (status = 404, description = "no such media item, or not one the caller may see"),
        (status = 503, description = "busy, or the media service is away")))]
async fn generate_moodboard(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<Moodboard>, MlError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let (slot, bytes, size) = photo(&state, request).await?;
    let analysis = state.analyser.analyse_in(slot, bytes.clone(), size).await?;

    let analysed = state
        .store
        .collection::<ProductAnalysis>()
        .query_up_to(&Query::new(), MAX_CANDIDATES)
        .await?;
    // Only listings the public sees are compared and shown.
    let ids: Vec<String> = analysed.iter().map(|a| a.id.clone()).collect();
    let active: std::collections::HashSet<String> = state
        .store
        .collection::<Listing>()
        .get_many(&ids)
        .await?
        .into_iter()
        .filter(|l| l.value.active)
        .map(|l| l.id)
        .collect();
    let candidates: Vec<(String, String, crate::domain::image::Analysis)> = analysed
        .into_iter()
        .filter(|a| active.contains(&a.id))
        .map(|a| (a.id, a.value.media_id, a.value.analysis))
        .collect();
    let market_alignment = moodboard::alignment(&analysis, &candidates);
    let similar = moodboard::nearest(&analysis.palette, &candidates);
    let mut drawn = Vec::new();
    for s in similar.iter().take(THUMBNAILS) {
        // A thumbnail that cannot be had is drawn as its palette.
        let thumb = state.media.thumbnail(&s.media_id).await.ok().flatten();
        let colours = s.palette.iter().filter_map(|hex| parse_hex(hex)).collect();
        drawn.push((thumb, colours));
    }
    let palette = analysis.palette.clone();
    let png = state
        .analyser
        .blocking(move |limits| moodboard::render(&bytes, limits, &palette, &drawn))
        .await??;
    let stored = state.media.store_png(png).await?;
    Ok(Json(Moodboard {
        moodboard: stored,
        color_palette: analysis.palette,
        style_inspiration: analysis.style_tags,
        market_alignment,
        similar_products: similar,
    }))
}

/// `#rrggbb` → RGB.
fn parse_hex(hex: &str) -> Option<[u8; 3]> {
    let h = hex.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}
