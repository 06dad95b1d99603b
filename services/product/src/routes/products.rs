//! The catalogue: create, list, read, update, delete and restore products,
//! and ask the ML service for a product's cultural story.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::preconditions::{etag, if_match, not_modified};
use common::{Caller, Id, Json, Page, Path, Query, schema};
use serde::Deserialize;
use store::{Version, Versioned};
use utoipa::openapi::schema::Schema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::engagement::{self, Engagement};
use crate::domain::listing::{self, ListParams};
use crate::domain::products::catalogue::{self, visible};
use crate::domain::products::{LANGUAGES, NewProduct, Product, ProductPatch, ProductView};
use crate::error::ProductError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(restore))
        .routes(routes!(generate_story))
}

/// `product` as clients see it, with its `ETag`.
fn with_etag(product: &Versioned<Product>, counters: Engagement, status: StatusCode) -> Response {
    let view = ProductView::new(&product.id, &product.value, counters);
    let mut response = (status, Json(view)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(product.version.0));
    response
}

/// A product just written, with its counters and `ETag`.
async fn respond(
    state: &AppState,
    product: &Versioned<Product>,
    status: StatusCode,
) -> Result<Response, ProductError> {
    let counters = engagement::counters(state, &product.id).await?;
    Ok(with_etag(product, counters, status))
}

/// List a new product (artisan or admin). The owner is the caller.
#[utoipa::path(post, path = "/products", tag = "products", security(("bearer" = [])), request_body = NewProduct,
    responses((status = 201, body = ProductView, headers(("ETag" = String))), (status = 403),
        (status = 422, description = "invalid fields, or media ids that are not the artisan's"),
        (status = 502, description = "the media service answered unexpectedly")))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewProduct>,
) -> Result<Response, ProductError> {
    let saved = catalogue::create(&state, &caller, body).await?;
    Ok(with_etag(
        &saved,
        Engagement::default(),
        StatusCode::CREATED,
    ))
}

/// Browse the catalogue: filters, a sort, and cursor pages. Paused
/// products are listed only to their artisan (asking with
/// `artisan=<their id>`) and to admins, so a token is needed only for them.
/// With several filters a page may hold fewer than `limit` products, even
/// none, while `next_cursor` is set: follow it until it is absent.
#[utoipa::path(get, path = "/products", tag = "products", params(ListParams),
    security((), ("bearer" = [])),
    responses((status = 200, body = Page<ProductView>),
        (status = 403, description = "paused products of another artisan"),
        (status = 422, description = "invalid filters, `min_price` above `max_price`, or a cursor \
            that is not one of this list's")))]
async fn list(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<ProductView>>, ProductError> {
    let (items, next) = listing::list(&state, caller.as_ref(), &params).await?;
    let ids: Vec<String> = items.iter().map(|p| p.id.clone()).collect();
    let counters = engagement::counters_of(&state, &ids).await?;
    let views = items
        .iter()
        .map(|p| {
            let counters = counters.get(&p.id).copied().unwrap_or_default();
            ProductView::new(&p.id, &p.value, counters)
        })
        .collect();
    Ok(Json(Page::new(views, next.map(|c| c.to_string()))))
}

/// Where a product was opened from.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Opened {
    /// The `search_id` of the search whose results this product was opened
    /// from: counted as a click of that search.
    #[param(value_type = Option<Id>)]
    search_id: Option<Id>,
}

/// One product, with its `ETag`. Counts a view (and, with `search_id`, a
/// click of that search). A paused product is seen only by its artisan and
/// admins (404 for anyone else).
#[utoipa::path(get, path = "/products/{id}", tag = "products", security((), ("bearer" = [])),
    params(("id" = Id, Path), Opened,
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = "`ETag`s held (or `*`): 304 when one is the current version.")),
    responses((status = 200, body = ProductView, headers(("ETag" = String))),
        (status = 304, description = "not modified", headers(("ETag" = String))), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path(id): Path<Id>,
    Query(opened): Query<Opened>,
    headers: HeaderMap,
) -> Result<Response, ProductError> {
    let product = visible(&state, &id, caller.as_ref()).await?;
    let search = opened.search_id.as_ref().map_or("", |s| s.as_str());
    state.views.add(&id, search, 1);
    if not_modified(&headers, product.version.0) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response
            .headers_mut()
            .insert(header::ETAG, etag(product.version.0));
        return Ok(response);
    }
    respond(&state, &product, StatusCode::OK).await
}

/// Change a product (its artisan or an admin), with `If-Match`.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = Id, Path),
        ("If-Match" = String, Header, pattern = "^(W/)?\"[0-9]{1,18}\"$",
            description = "The `ETag` of a read: the change applies only to that version (428 without it).")),
    request_body = ProductPatch,
    responses((status = 200, body = ProductView, headers(("ETag" = String))), (status = 403),
        (status = 412, description = "If-Match names another version, or the product changed meanwhile"),
        (status = 422, description = "invalid fields, or media ids that are not the artisan's"),
        (status = 428, description = "If-Match is missing"),
        (status = 502, description = "the media service answered unexpectedly")))]
async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    headers: HeaderMap,
    Json(body): Json<ProductPatch>,
) -> Result<Response, ProductError> {
    let expected = if_match(&headers)?.ok_or(ProductError::PreconditionRequired)?;
    let saved = catalogue::update(&state, &caller, &id, Version(expected), body).await?;
    respond(&state, &saved, StatusCode::OK).await
}

/// Soft-delete a product (its artisan or an admin): hidden everywhere.
#[utoipa::path(delete, path = "/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 204), (status = 403), (status = 404),
        (status = 412, description = "the product changed meanwhile; try again")))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<StatusCode, ProductError> {
    catalogue::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bring a soft-deleted product back (admin).
#[utoipa::path(post, path = "/products/{id}/restore", tag = "products", security(("bearer" = [])),
    params(("id" = Id, Path)), responses((status = 200, body = ProductView, headers(("ETag" = String))),
        (status = 403), (status = 404), (status = 409, description = "the product is not deleted"),
        (status = 412, description = "the product changed meanwhile; try again")))]
async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Response, ProductError> {
    let saved = catalogue::restore(&state, &caller, &id).await?;
    respond(&state, &saved, StatusCode::OK).await
}

/// `POST /products/{id}/generate-story`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryOptions {
    #[schema(schema_with = story_language_schema)]
    pub language: Option<String>,
}

fn story_language_schema() -> Schema {
    schema::or_null(
        schema::string_enum(LANGUAGES.iter().copied())
            .description(Some("Language of the story (default en).")),
    )
}

/// Ask the ML service for the product's cultural story and keep it. When
/// the ML service is down the answer is 503 and the product is unchanged.
#[utoipa::path(post, path = "/products/{id}/generate-story", tag = "products", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = StoryOptions,
    responses((status = 200, body = ProductView, headers(("ETag" = String))), (status = 403), (status = 404),
        (status = 422, description = "an unknown language; or `content_refused`: the text model declined to write about this product"),
        (status = 503, description = "the ML service is down or wrote nothing; the product is unchanged")))]
async fn generate_story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(options): Json<StoryOptions>,
) -> Result<Response, ProductError> {
    let saved = catalogue::write_story(&state, &caller, &id, options.language).await?;
    respond(&state, &saved, StatusCode::OK).await
}
