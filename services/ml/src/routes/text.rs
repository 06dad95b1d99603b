//! Text about products: `POST /ml/generate-description`,
//! `POST /ml/cultural-story`, `POST /ml/marketing-content`, and
//! `POST /ml/embeddings`.

use std::collections::BTreeMap;

use axum::extract::State;
use common::identity::Role;
use common::{Caller, Json, Validator};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::jobs::ProductAnalysis;
use crate::domain::listing::{self, Listing};
use crate::domain::text::marketing::{self, MarketingContent};
use crate::domain::text::templates::{Facts, LANGUAGES};
use crate::domain::text::{self, Description, Story, keywords};
use crate::error::MlError;
use crate::providers::{EmbedTask, Source};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate_description))
        .routes(routes!(cultural_story))
        .routes(routes!(marketing_content))
        .routes(routes!(embeddings))
}

/// Texts one embeddings request may carry, and their longest.
pub const MAX_EMBED_TEXTS: usize = 32;
pub const MAX_EMBED_CHARS: usize = 2_048;

/// A product's fields, as the artisan entered them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeRequest {
    #[schema(max_length = 200)]
    pub title: String,
    #[schema(max_length = 64)]
    pub category: String,
    #[serde(default)]
    #[schema(max_length = 80)]
    pub subcategory: String,
    #[schema(max_length = 80)]
    pub region: Option<String>,
    #[schema(max_length = 120)]
    pub craft_tradition: Option<String>,
    /// At most 20, each at most 60 characters.
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 20>")]
    #[schema(max_items = 20)]
    pub materials: Vec<String>,
    #[schema(maximum = 3650)]
    pub production_time_days: Option<u32>,
    /// The artisan's own descriptions by language (each at most 5,000
    /// characters): used as facts, and never replaced by a translation.
    #[serde(default, deserialize_with = "common::bounded::map::<_, _, _, 6>")]
    pub description: BTreeMap<String, String>,
    /// The language to write in (default `en`).
    pub language: Option<String>,
}

/// What `POST /products/{id}/generate-story` sends.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryRequest {
    #[schema(max_length = 128)]
    pub product_id: String,
    #[schema(max_length = 200)]
    pub title: String,
    #[schema(max_length = 64)]
    pub category: String,
    #[schema(max_length = 120)]
    pub craft_tradition: Option<String>,
    #[schema(max_length = 80)]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 20>")]
    #[schema(max_items = 20)]
    pub materials: Vec<String>,
    pub language: String,
}

/// Marketing content for a listed product.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketingRequest {
    #[schema(max_length = 128)]
    pub product_id: String,
    pub language: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    /// 1–32 texts, each at most 2,048 characters.
    #[serde(deserialize_with = "common::bounded::vec::<_, _, MAX_EMBED_TEXTS>")]
    #[schema(min_items = 1, max_items = 32)]
    pub texts: Vec<String>,
    /// `document` (default: texts to be found) or `query` (a search).
    #[serde(default)]
    pub task: EmbedTask,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EmbedResponse {
    pub model: String,
    pub vectors: Vec<Vec<f32>>,
}

fn check_language(v: &mut Validator, field: &str, language: &str) {
    v.check(
        LANGUAGES.contains(&language),
        field,
        "unknown_language",
        "one of en, hi, bn, ta, te, mr",
    );
}

fn check_facts(
    v: &mut Validator,
    title: &str,
    category: &str,
    region: Option<&str>,
    tradition: Option<&str>,
    materials: &[String],
) {
    v.length("title", title.trim(), 1, 200)
        .length("category", category, 1, 64);
    if let Some(r) = region {
        v.length("region", r, 0, 80);
    }
    if let Some(t) = tradition {
        // As long as the product service allows.
        v.length("craft_tradition", t, 0, 120);
    }
    for (i, m) in materials.iter().enumerate() {
        v.length(&format!("materials[{i}]"), m, 0, 60);
    }
}

/// A description of the product in the language asked (default English),
/// from the text model, or composed from its fields through written
/// templates when none is configured (`source.status = "template"`); its
/// SEO keywords by TF-IDF over the category's listings; its readability
/// (Flesch for English; words per sentence and aksharas per word for the
/// Indic scripts); and translations into the other catalogue languages —
/// the artisan's own text where they wrote one, never replaced. Artisans
/// and admins. A failing text model is 503 with `Retry-After`.
#[utoipa::path(post, path = "/ml/generate-description", tag = "ml", security(("bearer" = [])),
    request_body = DescribeRequest, responses((status = 200, body = Description),
        (status = 422, description = "a field is out of bounds or the language unknown"),
        (status = 503, description = "the text model failed or is over its quota")))]
async fn generate_description(
    State(state): State<AppState>,
    caller: Caller,
    Json(ask): Json<DescribeRequest>,
) -> Result<Json<Description>, MlError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let language = ask.language.clone().unwrap_or_else(|| "en".to_owned());
    let mut v = Validator::new();
    check_facts(
        &mut v,
        &ask.title,
        &ask.category,
        ask.region.as_deref(),
        ask.craft_tradition.as_deref(),
        &ask.materials,
    );
    v.length("subcategory", &ask.subcategory, 0, 80).check(
        ask.production_time_days.is_none_or(|d| d <= 3_650),
        "production_time_days",
        "out_of_range",
        "at most 3,650",
    );
    check_language(&mut v, "language", &language);
    for (lang, text) in &ask.description {
        check_language(&mut v, &format!("description.{lang}"), lang);
        v.length(&format!("description.{lang}"), text, 0, 5_000);
    }
    v.finish()?;
    let facts = Facts {
        title: ask.title.trim().to_owned(),
        category: ask.category,
        subcategory: ask.subcategory,
        region: ask.region,
        craft_tradition: ask.craft_tradition,
        materials: ask.materials,
        production_time_days: ask.production_time_days,
    };
    let corpus = listing::corpus(&state.store, &facts.category).await?;
    let description = text::describe(
        &state.providers,
        &facts,
        &ask.description,
        &language,
        &corpus,
    )
    .await?;
    Ok(Json(description))
}

/// The cultural story of a product, in a catalogue language: from the text
/// model, grounded in the tradition, region and materials given; with no
/// text model, those facts composed through the written templates and
/// labelled so (`generated_by = "template"`). Called by the product
/// service's `generate-story` (services), and by artisans and admins.
#[utoipa::path(post, path = "/ml/cultural-story", tag = "ml", security(("bearer" = [])),
    request_body = StoryRequest, responses((status = 200, body = Story),
        (status = 422), (status = 503, description = "the text model failed or is over its quota")))]
async fn cultural_story(
    State(state): State<AppState>,
    caller: Caller,
    Json(ask): Json<StoryRequest>,
) -> Result<Json<Story>, MlError> {
    caller.require(&[Role::Artisan, Role::Admin, Role::Service])?;
    let mut v = Validator::new();
    v.length("product_id", &ask.product_id, 1, 128);
    check_facts(
        &mut v,
        &ask.title,
        &ask.category,
        ask.region.as_deref(),
        ask.craft_tradition.as_deref(),
        &ask.materials,
    );
    check_language(&mut v, "language", &ask.language);
    v.finish()?;
    let facts = Facts {
        title: ask.title.trim().to_owned(),
        category: ask.category,
        region: ask.region,
        craft_tradition: ask.craft_tradition,
        materials: ask.materials,
        ..Facts::default()
    };
    Ok(Json(
        text::story(&state.providers, &facts, &ask.language).await?,
    ))
}

/// Marketing content for a listed product (its artisan or an admin): a
/// post per platform within its length limit, hashtags from the product's
/// tradition, region, category and TF-IDF keywords, poster layouts in the
/// colours measured in its photo, and a two-week campaign plan built on its
/// fields. Posts come from the text model, or from the written templates
/// (labelled) when none is configured.
#[utoipa::path(post, path = "/ml/marketing-content", tag = "ml", security(("bearer" = [])),
    request_body = MarketingRequest, responses((status = 200, body = MarketingContent),
        (status = 403), (status = 404, description = "no such listed product"),
        (status = 422), (status = 503)))]
async fn marketing_content(
    State(state): State<AppState>,
    caller: Caller,
    Json(ask): Json<MarketingRequest>,
) -> Result<Json<MarketingContent>, MlError> {
    let language = ask.language.clone().unwrap_or_else(|| "en".to_owned());
    let mut v = Validator::new();
    v.length("product_id", &ask.product_id, 1, 128);
    check_language(&mut v, "language", &language);
    v.finish()?;
    let listing = state
        .store
        .collection::<Listing>()
        .get(&ask.product_id)
        .await?
        .ok_or_else(|| MlError::NotFound(format!("product {}", ask.product_id)))?
        .value;
    caller.require_owner_or_admin(&listing.artisan_id)?;
    let analysis = state
        .store
        .collection::<ProductAnalysis>()
        .get(&ask.product_id)
        .await?
        .map(|a| a.value.analysis);
    let facts = Facts {
        title: listing.title.clone(),
        category: listing.category.clone(),
        subcategory: listing.subcategory.clone(),
        region: Some(listing.region.clone()),
        craft_tradition: Some(listing.craft_tradition.clone()),
        materials: listing.materials.clone(),
        production_time_days: listing.production_time_days,
    };
    let corpus = listing::corpus(&state.store, &facts.category).await?;
    let own_words = text::keyword_text(&facts, &listing.description, "", &Source::template());
    let keywords = keywords::extract(&own_words, &corpus);
    let content = marketing::content(
        &state.providers,
        &ask.product_id,
        &facts,
        &listing.description,
        &language,
        &keywords,
        analysis.as_ref(),
    )
    .await?;
    Ok(Json(content))
}

/// Embeddings of 1–32 texts from the configured embedder, for services and
/// admins (semantic search, similar products). With no embedder configured
/// the answer is 503 `provider_not_configured`, never a made-up vector.
#[utoipa::path(post, path = "/ml/embeddings", tag = "ml", security(("bearer" = [])),
    request_body = EmbedRequest, responses((status = 200, body = EmbedResponse),
        (status = 422), (status = 503, description = "no embedder is configured, or it failed")))]
async fn embeddings(
    State(state): State<AppState>,
    caller: Caller,
    Json(ask): Json<EmbedRequest>,
) -> Result<Json<EmbedResponse>, MlError> {
    caller.require(&[Role::Admin, Role::Service])?;
    let mut v = Validator::new();
    v.check(!ask.texts.is_empty(), "texts", "empty", "at least one text");
    for (i, t) in ask.texts.iter().enumerate() {
        v.length(&format!("texts[{i}]"), t, 1, MAX_EMBED_CHARS);
    }
    v.finish()?;
    let embedder = state
        .providers
        .embedder
        .as_ref()
        .ok_or(MlError::NotConfigured("embeddings"))?;
    let vectors = embedder.embed(&ask.texts, ask.task).await?;
    Ok(Json(EmbedResponse {
        model: embedder.model(),
        vectors,
    }))
}
