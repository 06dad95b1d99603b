//! `POST /products/search`: ranked full-text search with the list filters
//! and highlights.

use std::collections::BTreeMap;

use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::pagination::invalid_cursor;
use common::{ApiError, FieldError, Json, Page};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::products::ProductView;
use crate::error;
use crate::routes::products::{ListParams, engagement_of};
use crate::search::{SearchFilters, SearchRequest};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// The deepest a client may page into results.
const MAX_OFFSET: usize = 1000;

/// `POST /products/search`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// Free text in any language of the catalogue.
    pub query: String,
    #[serde(default)]
    pub filters: ListParams,
}

/// One hit: the product and why it matched.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Hit {
    pub product: ProductView,
    pub score: f32,
    /// Field → snippet with `<b>` around the matched words.
    pub highlights: BTreeMap<String, String>,
}

/// Search the catalogue.
#[utoipa::path(post, path = "/products/search", tag = "search", request_body = SearchBody,
    responses((status = 200, body = Page<Hit>), (status = 422)))]
async fn search(
    State(state): State<AppState>,
    Json(body): Json<SearchBody>,
) -> Result<Json<Page<Hit>>, ApiError> {
    let f = body.filters;
    f.check().map_err(in_filters)?;
    if f.sort.is_some() {
        return Err(ApiError::invalid_field(
            "filters.sort",
            "invalid",
            "search results are ranked by relevance",
        ));
    }
    if body.query.chars().count() > 500 {
        return Err(ApiError::invalid_field(
            "query",
            "too_long",
            "at most 500 characters",
        ));
    }
    let limit = common::PageParams {
        limit: f.limit,
        cursor: None,
    }
    .limit()
    .map_err(in_filters)?;
    let offset = match &f.cursor {
        None => 0,
        Some(c) => decode_offset(c).ok_or_else(|| in_filters(invalid_cursor()))?,
    };
    let request = SearchRequest {
        text: body.query.trim().to_owned(),
        filters: SearchFilters {
            category: f.category.clone(),
            subcategory: f.subcategory.clone(),
            region: f.region.clone(),
            artisan_id: f.artisan.clone(),
            material: f.material.as_ref().map(|m| m.trim().to_lowercase()),
            status: Some(
                f.status
                    .unwrap_or(crate::domain::products::ProductStatus::Active)
                    .as_str()
                    .to_owned(),
            ),
            min_price: f.min_price,
            max_price: f.max_price,
        },
        limit,
        offset,
    };
    let results = state.search.search(&request).await.map_err(error::search)?;
    let ids: Vec<String> = results.hits.iter().map(|h| h.id.clone()).collect();
    let products: std::collections::HashMap<String, _> = state
        .products
        .get_many(&ids)
        .await
        .map_err(error::store)?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let counters = engagement_of(&state, &ids).await?;
    let items: Vec<Hit> = results
        .hits
        .into_iter()
        .filter_map(|h| {
            // The index may briefly lag a delete: the store decides.
            let p = products
                .get(&h.id)
                .filter(|p| p.value.status != crate::domain::products::ProductStatus::Deleted)?;
            Some(Hit {
                product: ProductView::new(
                    &h.id,
                    &p.value,
                    counters.get(&h.id).copied().unwrap_or_default(),
                ),
                score: h.score,
                highlights: h.highlights,
            })
        })
        .collect();
    let next = offset + limit;
    let next_cursor = (next < results.total && next <= MAX_OFFSET).then(|| encode_offset(next));
    Ok(Json(Page::new(items, next_cursor)))
}

/// Name the fields of a filter problem as the body does (`filters.limit`).
fn in_filters(err: ApiError) -> ApiError {
    if err.field_errors().is_empty() {
        return err;
    }
    ApiError::validation(
        err.field_errors()
            .iter()
            .map(|e| FieldError::new(format!("filters.{}", e.field), &e.code, e.message.clone()))
            .collect(),
    )
}

fn encode_offset(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("s1:{offset}"))
}

fn decode_offset(cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("s1:")?
        .parse()
        .ok()
        .filter(|o| *o <= MAX_OFFSET)
}
