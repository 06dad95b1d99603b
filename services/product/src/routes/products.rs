//! The catalogue: create, list, read, update, delete and restore products,
//! and ask the ML service for a product's cultural story.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::identity::Role;
use common::pagination::invalid_cursor;
use common::{ApiError, Caller, Json, Page, Path, Query};
use events::v1::{ProductCreated, ProductDeleted, ProductUpdated};
use serde::Deserialize;
use store::{Cursor, Direction, Op, StoreError, Txn, Version, Versioned};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::clients::StoryRequest;
use crate::domain::products::{
    Engagement, NewProduct, Product, ProductPatch, ProductStatus, ProductView, normalise, validate,
};
use crate::error;
use crate::indexing;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(restore))
        .routes(routes!(generate_story))
}

/// A product as `caller` may see it: 404 when absent or soft-deleted, and
/// when paused unless the caller is its artisan or an admin.
pub(crate) async fn visible(
    state: &AppState,
    id: &str,
    caller: Option<&Caller>,
) -> Result<Versioned<Product>, ApiError> {
    match state.products.get(id).await.map_err(error::store)? {
        Some(p) if p.value.status == ProductStatus::Active => Ok(p),
        Some(p)
            if p.value.status == ProductStatus::Paused
                && caller.is_some_and(|c| c.is_admin() || c.uid == p.value.artisan_id) =>
        {
            Ok(p)
        }
        _ => Err(ApiError::not_found(format!("product {id}"))),
    }
}

fn with_etag(view: ProductView, version: Version, status: StatusCode) -> Response {
    let mut response = (status, Json(view)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, common::preconditions::etag(version.0));
    response
}

/// Check that every media id exists and belongs to the product's artisan.
async fn check_media(state: &AppState, ids: &[String], owner: &str) -> Result<(), ApiError> {
    let mut v = common::Validator::new();
    for (i, id) in ids.iter().enumerate() {
        match state.media.get(id).await? {
            None => {
                v.check(
                    false,
                    &format!("media_ids[{i}]"),
                    "not_found",
                    "no such media",
                );
            }
            Some(m) if m.owner_id != owner => {
                v.check(
                    false,
                    &format!("media_ids[{i}]"),
                    "not_owner",
                    "this media belongs to someone else",
                );
            }
            Some(_) => {}
        }
    }
    v.finish()
}

/// List a new product (artisan or admin). The owner is the caller.
#[utoipa::path(post, path = "/products", tag = "products", security(("bearer" = [])), request_body = NewProduct,
    responses((status = 201, body = ProductView), (status = 403), (status = 422)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewProduct>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let now = common::time::now();
    let mut product = Product {
        artisan_id: caller.uid.clone(),
        title: body.title,
        description: body.description,
        category: body.category,
        subcategory: body.subcategory,
        price: body.price,
        materials: body.materials,
        dimensions: body.dimensions,
        production_time_days: body.production_time_days,
        region: body.region,
        craft_tradition: body.craft_tradition,
        media_ids: body.media_ids,
        status: ProductStatus::Active,
        ai: Default::default(),
        suggested_price: Default::default(),
        cultural_story: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    normalise(&mut product);
    validate(&product)?;
    check_media(&state, &product.media_ids, &caller.uid).await?;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let event = ProductCreated {
        product_id: id.clone(),
        artisan_id: product.artisan_id.clone(),
        title: product.title.clone(),
        category: product.category.clone(),
        subcategory: product.subcategory.clone(),
        price: Some(events::v1::Money {
            amount: product.price.amount,
            currency: product.price.currency.to_string(),
        }),
        materials: product.materials.clone(),
        region: product.region.clone().unwrap_or_default(),
        craft_tradition: product.craft_tradition.clone().unwrap_or_default(),
        media_ids: product.media_ids.clone(),
        description: product.description.clone(),
    };
    state
        .store
        .transact(async |tx: &mut Txn| {
            tx.create(&id, &product)?;
            state.publisher.emit(tx, &id, &event)?;
            Ok::<_, StoreError>(())
        })
        .await
        .map_err(error::store)?;
    let saved = state
        .products
        .get(&id)
        .await
        .map_err(error::store)?
        .ok_or_else(|| ApiError::not_found("product"))?;
    indexing::index_now(&state, &saved).await;
    Ok(with_etag(
        ProductView::new(&id, &saved.value, Engagement::default()),
        saved.version,
        StatusCode::CREATED,
    ))
}

/// How a list is sorted.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
}

/// Filters of `GET /products` (and of search).
#[derive(Debug, Clone, Default, Deserialize, IntoParams, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub region: Option<String>,
    /// Products of one artisan.
    pub artisan: Option<String>,
    /// Minimum price, minor units.
    pub min_price: Option<i64>,
    /// Maximum price, minor units.
    pub max_price: Option<i64>,
    pub material: Option<String>,
    /// `active` (default) or `paused`.
    pub status: Option<ProductStatus>,
    pub sort: Option<Sort>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl ListParams {
    pub(crate) fn check(&self) -> Result<(), ApiError> {
        let mut v = common::Validator::new();
        if let Some(c) = &self.category {
            v.check(
                crate::domain::products::CATEGORIES.contains(&c.as_str()),
                "category",
                "unknown_category",
                "no such category",
            );
        }
        v.check(
            self.status != Some(ProductStatus::Deleted),
            "status",
            "invalid",
            "deleted products are not listed",
        );
        if let (Some(lo), Some(hi)) = (self.min_price, self.max_price) {
            v.check(
                lo <= hi,
                "min_price",
                "invalid",
                "must not exceed max_price",
            );
        }
        v.finish()
    }
}

/// Browse the catalogue: filters, a sort, and cursor pages.
#[utoipa::path(get, path = "/products", tag = "products", params(ListParams),
    responses((status = 200, body = Page<ProductView>), (status = 422)))]
async fn list(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<ProductView>>, ApiError> {
    params.check()?;
    if params.status == Some(ProductStatus::Paused)
        && !caller
            .as_ref()
            .is_some_and(|c| c.is_admin() || params.artisan.as_deref() == Some(c.uid.as_str()))
    {
        return Err(ApiError::forbidden(
            "paused products are listed only to their artisan (with artisan=<your id>) and admins",
        ));
    }
    let limit = common::PageParams {
        limit: params.limit,
        cursor: None,
    }
    .limit()?;
    let status = params.status.unwrap_or(ProductStatus::Active);
    let mut q = store::Query::new().eq("status", status.as_str());
    for (field, value) in [
        ("category", &params.category),
        ("subcategory", &params.subcategory),
        ("region", &params.region),
        ("artisan_id", &params.artisan),
    ] {
        if let Some(value) = value {
            q = q.eq(field, value.as_str());
        }
    }
    if let Some(m) = &params.material {
        q = q.filter("materials", Op::ArrayContains, m.trim().to_lowercase());
    }
    if let Some(lo) = params.min_price {
        q = q.filter("price.amount", Op::Ge, lo);
    }
    if let Some(hi) = params.max_price {
        q = q.filter("price.amount", Op::Le, hi);
    }
    q = match params.sort.unwrap_or_default() {
        Sort::Newest => q.order_by("created_at", Direction::Desc),
        Sort::PriceAsc => q.order_by("price.amount", Direction::Asc),
        Sort::PriceDesc => q.order_by("price.amount", Direction::Desc),
    };
    let cursor = params
        .cursor
        .as_deref()
        .map(Cursor::parse)
        .transpose()
        .map_err(|_| invalid_cursor())?;
    let (items, next) = state
        .products
        .query(&q.limit(limit).after(cursor))
        .await
        .map_err(error::store)?;
    let ids: Vec<String> = items.iter().map(|p| p.id.clone()).collect();
    let counters = engagement_of(&state, &ids).await?;
    let views = items
        .iter()
        .map(|p| {
            ProductView::new(
                &p.id,
                &p.value,
                counters.get(&p.id).copied().unwrap_or_default(),
            )
        })
        .collect();
    Ok(Json(Page::new(views, next.map(|c| c.to_string()))))
}

/// Engagement counters of several products.
pub(crate) async fn engagement_of(
    state: &AppState,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Engagement>, ApiError> {
    Ok(state
        .engagement
        .get_many(ids)
        .await
        .map_err(error::store)?
        .into_iter()
        .map(|e| (e.id, e.value))
        .collect())
}

/// One product, with its `ETag`. Counts a view.
#[utoipa::path(get, path = "/products/{id}", tag = "products", params(("id" = String, Path)),
    responses((status = 200, body = ProductView, headers(("ETag" = String))), (status = 404)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let product = visible(&state, &id, caller.as_ref()).await?;
    crate::routes::engagement::count_view(&state, &id);
    if common::preconditions::not_modified(&headers, product.version.0) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response
            .headers_mut()
            .insert(header::ETAG, common::preconditions::etag(product.version.0));
        return Ok(response);
    }
    let counters = state
        .engagement
        .get(&id)
        .await
        .map_err(error::store)?
        .map(|e| e.value)
        .unwrap_or_default();
    Ok(with_etag(
        ProductView::new(&id, &product.value, counters),
        product.version,
        StatusCode::OK,
    ))
}

/// Change a product (its artisan or an admin), with `If-Match`.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ProductPatch,
    responses((status = 200, body = ProductView), (status = 403), (status = 412), (status = 422), (status = 428)))]
async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<ProductPatch>,
) -> Result<Response, ApiError> {
    let expected = Version(common::preconditions::required_if_match(&headers)?);
    let mut product = visible(&state, &id, Some(&caller)).await?;
    caller.require_owner_or_admin(&product.value.artisan_id)?;
    if product.version != expected {
        return Err(ApiError::precondition_failed(
            "the product changed since it was read",
        ));
    }
    if body.status == Some(ProductStatus::Deleted) {
        return Err(ApiError::invalid_field(
            "status",
            "invalid",
            "use DELETE to delete a product",
        ));
    }
    let new_media = body.media_ids.clone();
    let changed = body.apply(&mut product.value);
    normalise(&mut product.value);
    validate(&product.value)?;
    if let Some(ids) = new_media {
        check_media(&state, &ids, &product.value.artisan_id).await?;
    }
    product.value.updated_at = common::time::now();
    let event = ProductUpdated {
        product_id: id.clone(),
        artisan_id: product.value.artisan_id.clone(),
        changed_fields: changed.iter().map(|s| (*s).to_owned()).collect(),
        price: Some(events::v1::Money {
            amount: product.value.price.amount,
            currency: product.value.price.currency.to_string(),
        }),
        status: product.value.status.as_str().to_owned(),
    };
    save(&state, &product, |tx| {
        state.publisher.emit(tx, &id, &event).map(|_| ())
    })
    .await?;
    respond_saved(&state, &id).await
}

/// Write `product` at its read version (412 if it moved) with an event.
async fn save(
    state: &AppState,
    product: &Versioned<Product>,
    emit: impl Fn(&mut Txn) -> Result<(), StoreError> + Send + Sync,
) -> Result<(), ApiError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            tx.update(product)?;
            emit(tx)?;
            Ok::<_, StoreError>(())
        })
        .await
        .map_err(error::store)
}

async fn respond_saved(state: &AppState, id: &str) -> Result<Response, ApiError> {
    let saved = state
        .products
        .get(id)
        .await
        .map_err(error::store)?
        .ok_or_else(|| ApiError::not_found("product"))?;
    indexing::index_now(state, &saved).await;
    let counters = state
        .engagement
        .get(id)
        .await
        .map_err(error::store)?
        .map(|e| e.value)
        .unwrap_or_default();
    Ok(with_etag(
        ProductView::new(id, &saved.value, counters),
        saved.version,
        StatusCode::OK,
    ))
}

/// Soft-delete a product (its artisan or an admin): hidden everywhere.
#[utoipa::path(delete, path = "/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut product = visible(&state, &id, Some(&caller)).await?;
    caller.require_owner_or_admin(&product.value.artisan_id)?;
    let now = common::time::now();
    product.value.status = ProductStatus::Deleted;
    product.value.deleted_at = Some(now);
    product.value.updated_at = now;
    let event = ProductDeleted {
        product_id: id.clone(),
        artisan_id: product.value.artisan_id.clone(),
    };
    save(&state, &product, |tx| {
        state.publisher.emit(tx, &id, &event).map(|_| ())
    })
    .await?;
    if let Err(e) = state.search.remove(&id).await {
        tracing::warn!(product_id = id, error = %e, "search index not updated; the sync will catch up");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Bring a soft-deleted product back (admin).
#[utoipa::path(post, path = "/products/{id}/restore", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = ProductView), (status = 403), (status = 404), (status = 409)))]
async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin])?;
    let mut product = state
        .products
        .get(&id)
        .await
        .map_err(error::store)?
        .ok_or_else(|| ApiError::not_found(format!("product {id}")))?;
    if product.value.status != ProductStatus::Deleted {
        return Err(ApiError::conflict(
            "not_deleted",
            "only a deleted product can be restored",
        ));
    }
    product.value.status = ProductStatus::Active;
    product.value.deleted_at = None;
    product.value.updated_at = common::time::now();
    let event = ProductUpdated {
        product_id: id.clone(),
        artisan_id: product.value.artisan_id.clone(),
        changed_fields: vec!["status".to_owned()],
        price: None,
        status: "active".to_owned(),
    };
    save(&state, &product, |tx| {
        state.publisher.emit(tx, &id, &event).map(|_| ())
    })
    .await?;
    respond_saved(&state, &id).await
}

/// `POST /products/{id}/generate-story`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryOptions {
    /// Language of the story (default en).
    pub language: Option<String>,
}

/// Ask the ML service for the product's cultural story and keep it. When
/// the ML service is down the answer is 503 and the product is unchanged.
#[utoipa::path(post, path = "/products/{id}/generate-story", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = StoryOptions,
    responses((status = 200, body = ProductView), (status = 403), (status = 503)))]
async fn generate_story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(options): Json<StoryOptions>,
) -> Result<Response, ApiError> {
    let product = visible(&state, &id, Some(&caller)).await?;
    caller.require_owner_or_admin(&product.value.artisan_id)?;
    let language = options.language.unwrap_or_else(|| "en".to_owned());
    if !crate::domain::products::LANGUAGES.contains(&language.as_str()) {
        return Err(ApiError::invalid_field(
            "language",
            "unknown_language",
            "no such language",
        ));
    }
    let request = StoryRequest {
        product_id: id.clone(),
        title: product.value.title.clone(),
        category: product.value.category.clone(),
        craft_tradition: product.value.craft_tradition.clone(),
        region: product.value.region.clone(),
        materials: product.value.materials.clone(),
        language,
    };
    let story = state.ml.cultural_story(&request).await.map_err(|e| {
        ApiError::unavailable(
            Duration::from_secs(10),
            "the story writer is unavailable; the product is unchanged",
        )
        .with_source(e)
    })?;
    let story = story.trim().chars().take(10_000).collect::<String>();
    if story.is_empty() {
        return Err(ApiError::unavailable(
            Duration::from_secs(10),
            "the story writer answered nothing",
        ));
    }
    state
        .store
        .transact(async |tx: &mut Txn| {
            let Some(mut current) = tx.get::<Product>(&id).await? else {
                return Err(StoreError::NotFound {
                    collection: "products".into(),
                    id: id.clone(),
                });
            };
            current.value.cultural_story = Some(story.clone());
            current.value.updated_at = common::time::now();
            tx.update(&current)?;
            state.publisher.emit(
                tx,
                &id,
                &ProductUpdated {
                    product_id: id.clone(),
                    artisan_id: current.value.artisan_id.clone(),
                    changed_fields: vec!["cultural_story".to_owned()],
                    price: None,
                    status: current.value.status.as_str().to_owned(),
                },
            )?;
            Ok(())
        })
        .await
        .map_err(error::store)?;
    respond_saved(&state, &id).await
}
