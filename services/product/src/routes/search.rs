//! `POST /products/search`: ranked full-text search with the list filters
//! and highlights.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::pagination::invalid_cursor;
use common::{ApiError, Caller, FieldError, Json, Page};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::engagement;
use crate::domain::listing::ListParams;
use crate::domain::products::ProductView;
use crate::error::ProductError;
use crate::search::SearchRequest;
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
    /// Free text in any language of the catalogue, at most 500 characters.
    #[schema(max_length = 500)]
    pub query: String,
    #[serde(default)]
    #[schema(schema_with = filters_schema)]
    pub filters: ListParams,
}

/// The longest query, in characters.
const MAX_QUERY_CHARS: usize = 500;

/// The list filters, without `sort`: results are ranked by relevance.
fn filters_schema() -> RefOr<Schema> {
    let mut filters = ListParams::schema();
    if let RefOr::T(Schema::Object(object)) = &mut filters {
        object.properties.remove("sort");
        object.description = Some(
            "The filters of `GET /products`, without `sort` (results are ranked by relevance); \
             `cursor` is the `next_cursor` of the previous page of this search."
                .to_owned(),
        );
    }
    filters
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
    responses((status = 200, body = Page<Hit>),
        (status = 422, description = "invalid filters, `min_price` above `max_price`, or a cursor \
            that is not one of this search's"),
        (status = 503, description = "the search index is unavailable")))]
async fn search(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Json(body): Json<SearchBody>,
) -> Result<Json<Page<Hit>>, ProductError> {
    let f = body.filters;
    f.check().map_err(in_filters)?;
    f.authorize(caller.as_ref())?;
    if f.sort.is_some() {
        return Err(ProductError::invalid(
            "filters.sort",
            "invalid",
            "search results are ranked by relevance",
        ));
    }
    if body.query.chars().count() > MAX_QUERY_CHARS {
        return Err(ProductError::invalid(
            "query",
            "too_long",
            "at most 500 characters",
        ));
    }
    let limit = f.limit().map_err(in_filters)?;
    let offset = match &f.cursor {
        None => 0,
        Some(c) => decode_offset(c).ok_or_else(|| in_filters(invalid_cursor().into()))?,
    };
    let request = SearchRequest {
        text: body.query.trim().to_owned(),
        filters: f.search_filters(),
        limit,
        offset,
    };
    let results = state.search.search(&request).await?;
    let ids: Vec<String> = results.hits.iter().map(|h| h.id.clone()).collect();
    let products: HashMap<String, _> = state
        .products
        .get_many(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let counters = engagement::counters_of(&state, &ids).await?;
    let items: Vec<Hit> = results
        .hits
        .into_iter()
        .filter_map(|h| {
            // The index may briefly lag a change: the stored product, and
            // the one visibility rule, decide.
            let p = products
                .get(&h.id)
                .filter(|p| p.value.visible_to(caller.as_ref()))?;
            let counters = counters.get(&h.id).copied().unwrap_or_default();
            Some(Hit {
                product: ProductView::new(&h.id, &p.value, counters),
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
fn in_filters(err: ProductError) -> ProductError {
    let err = ApiError::from(err);
    if err.field_errors().is_empty() {
        return err.into();
    }
    ApiError::validation(
        err.field_errors()
            .iter()
            .map(|e| FieldError::new(format!("filters.{}", e.field), &e.code, e.message.clone()))
            .collect(),
    )
    .into()
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
