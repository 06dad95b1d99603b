//! `POST /products/search`: ranked full-text search with the list filters
//! and highlights.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::pagination::invalid_cursor;
use common::{ApiError, Caller, FieldError, Id, Json};
use events::v1::SearchPerformed;
use serde::{Deserialize, Serialize};
use store::Txn;
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

/// One page of results.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    pub items: Vec<Hit>,
    /// Pass as `filters.cursor` (with the same query) for the next page;
    /// null on the last page.
    pub next_cursor: Option<String>,
    /// This search, the same on every page of it: pass it on as
    /// `GET /products/{id}?search_id=` when a result is opened, and in the
    /// order (`search_id`) when one is bought, so that the artisan learns
    /// which searches find and sell their work.
    #[schema(value_type = Id)]
    pub search_id: String,
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
    responses((status = 200, body = SearchPage),
        (status = 422, description = "invalid filters, `min_price` above `max_price`, or a cursor \
            that is not one of this search's"),
        (status = 503, description = "the search index is unavailable")))]
async fn search(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Json(body): Json<SearchBody>,
) -> Result<Json<SearchPage>, ProductError> {
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
    let (offset, search_id) = match &f.cursor {
        None => (0, Id::generate().into_string()),
        Some(c) => decode_cursor(c).ok_or_else(|| in_filters(invalid_cursor().into()))?,
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
    if offset == 0 && !request.text.is_empty() {
        let event = performed(&search_id, &request, &ids, results.total);
        if let Err(e) = publish(&state, &event).await {
            // The results stand; only analytics misses this search.
            tracing::warn!(error = %e, "a search was not announced");
        }
    }
    let next = offset + limit;
    let next_cursor =
        (next < results.total && next <= MAX_OFFSET).then(|| encode_cursor(next, &search_id));
    Ok(Json(SearchPage {
        items,
        next_cursor,
        search_id,
    }))
}

/// The most terms a `search.performed` carries, and the longest.
const MAX_TERMS: usize = 32;
const MAX_TERM_CHARS: usize = 64;

/// The words of a query: split at spaces and punctuation (the danda
/// included), lowercased, each kept once.
fn terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| {
        c.is_whitespace() || c.is_ascii_punctuation() || matches!(c, '\u{964}' | '\u{965}')
    }) {
        let word: String = word
            .chars()
            .take(MAX_TERM_CHARS)
            .collect::<String>()
            .to_lowercase();
        if !word.is_empty() && !terms.contains(&word) && terms.len() < MAX_TERMS {
            terms.push(word);
        }
    }
    terms
}

/// What a search's first page announces: the query, its terms, the filters
/// and the results shown — nothing of who searched.
fn performed(
    search_id: &str,
    request: &SearchRequest,
    ids: &[String],
    total: usize,
) -> SearchPerformed {
    let f = &request.filters;
    let filters = [
        ("category", f.category.clone()),
        ("subcategory", f.subcategory.clone()),
        ("region", f.region.clone()),
        ("material", f.material.clone()),
        ("artisan_id", f.artisan_id.clone()),
        ("min_price", f.min_price.map(|p| p.to_string())),
        ("max_price", f.max_price.map(|p| p.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect();
    SearchPerformed {
        search_id: search_id.to_owned(),
        query: request.text.to_lowercase(),
        terms: terms(&request.text),
        filters,
        result_ids: ids.to_vec(),
        total: total as u64,
    }
}

/// Announce `event` through the outbox (it is written with nothing else).
async fn publish(state: &AppState, event: &SearchPerformed) -> Result<(), ProductError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            state.publisher.emit(tx, &event.search_id, event)?;
            Ok::<_, ProductError>(())
        })
        .await
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

/// The cursor of the page at `offset` of search `search_id`.
fn encode_cursor(offset: usize, search_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("s2:{offset}:{search_id}"))
}

fn decode_cursor(cursor: &str) -> Option<(usize, String)> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    if let Some(offset) = text.strip_prefix("s1:") {
        // A cursor from before searches had ids: the page, as a new search.
        let offset = offset.parse().ok().filter(|o| *o <= MAX_OFFSET)?;
        return Some((offset, Id::generate().into_string()));
    }
    let (offset, search_id) = text.strip_prefix("s2:")?.split_once(':')?;
    let offset = offset.parse().ok().filter(|o| *o <= MAX_OFFSET)?;
    Id::is_valid(search_id).then(|| (offset, search_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_at_spaces_punctuation_and_the_danda() {
        assert_eq!(
            terms("Blue  Pottery, jaipur। नीला मिट्टी blue"),
            ["blue", "pottery", "jaipur", "नीला", "मिट्टी"]
        );
        assert!(terms(" ,. ").is_empty());
        assert_eq!(terms(&"a ".repeat(100)).len(), 1);
    }

    #[test]
    fn cursors_carry_the_search() {
        let c = encode_cursor(40, "abc123");
        assert_eq!(decode_cursor(&c), Some((40, "abc123".to_owned())));
        assert_eq!(decode_cursor(&encode_cursor(MAX_OFFSET + 1, "abc")), None);
        assert_eq!(decode_cursor(&encode_cursor(20, "a/b")), None);
        let old = URL_SAFE_NO_PAD.encode("s1:20");
        assert_eq!(decode_cursor(&old).map(|(o, _)| o), Some(20));
    }
}
