//! What the catalogue does with a product: who may see it, checking its
//! media with the media service, listing, changing, deleting and restoring
//! it (each write in one transaction with its event, then indexed at once),
//! and asking the ML service for its cultural story.

use common::identity::{Caller, Role};
use common::{Id, Validator};
use events::Event;
use events::v1::{ProductCreated, ProductDeleted, ProductUpdated};
use store::{Txn, Version, Versioned};

use super::{LANGUAGES, NewProduct, Product, ProductPatch, ProductStatus, normalise, validate};
use crate::domain::clients::StoryRequest;
use crate::domain::indexing;
use crate::error::ProductError;
use crate::state::AppState;

/// The longest story kept, in characters.
const MAX_STORY_CHARS: usize = 10_000;

/// Product `id` if `caller` may see it ([`Product::visible_to`]), else
/// 404 (as if absent: a hidden product's existence is not told).
pub async fn visible(
    state: &AppState,
    id: &str,
    caller: Option<&Caller>,
) -> Result<Versioned<Product>, ProductError> {
    match state.products.get(id).await? {
        Some(p) if p.value.visible_to(caller) => Ok(p),
        _ => Err(ProductError::NotFound(format!("product {id}"))),
    }
}

/// Product `id` if `caller` may see it and it is not deleted: what edits,
/// stories and engagement act on (a deleted product is only restored).
pub async fn live(
    state: &AppState,
    id: &str,
    caller: &Caller,
) -> Result<Versioned<Product>, ProductError> {
    let product = visible(state, id, Some(caller)).await?;
    if product.value.status == ProductStatus::Deleted {
        return Err(ProductError::NotFound(format!("product {id}")));
    }
    Ok(product)
}

/// Check that every media id exists and belongs to the product's artisan.
async fn check_media(state: &AppState, ids: &[String], owner: &str) -> Result<(), ProductError> {
    let mut v = Validator::new();
    for (i, id) in ids.iter().enumerate() {
        let field = format!("media_ids[{i}]");
        match state.media.get(id).await? {
            None => {
                v.check(false, &field, "not_found", "no such media");
            }
            Some(m) if m.owner_id != owner => {
                v.check(
                    false,
                    &field,
                    "not_owner",
                    "this media belongs to someone else",
                );
            }
            Some(_) => {}
        }
    }
    Ok(v.finish()?)
}

/// List a new product owned by `caller` (an artisan or an admin).
pub async fn create(
    state: &AppState,
    caller: &Caller,
    body: NewProduct,
) -> Result<Versioned<Product>, ProductError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let mut product = body.into_product(&caller.uid, common::time::now());
    normalise(&mut product);
    validate(&product)?;
    check_media(state, &product.media_ids, &caller.uid).await?;
    let id = Id::generate().into_string();
    let event = ProductCreated {
        product_id: id.clone(),
        artisan_id: product.artisan_id.clone(),
        title: product.title.clone(),
        category: product.category.clone(),
        subcategory: product.subcategory.clone(),
        price: Some(product.price.into()),
        materials: product.materials.clone(),
        region: product.region.clone().unwrap_or_default(),
        craft_tradition: product.craft_tradition.clone().unwrap_or_default(),
        media_ids: product.media_ids.clone(),
        description: product.description.clone(),
        status: product.status.as_str().to_owned(),
        production_time_days: product.production_time_days.map_or(0, u32::from),
    };
    state
        .store
        .transact(async |tx: &mut Txn| {
            tx.create(&id, &product)?;
            state.publisher.emit(tx, &id, &event)?;
            Ok::<_, ProductError>(())
        })
        .await?;
    saved(state, &id).await
}

/// Apply `patch` to product `id` as its artisan or an admin, if it is
/// still at version `expected`.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &str,
    expected: Version,
    patch: ProductPatch,
) -> Result<Versioned<Product>, ProductError> {
    let mut product = live(state, id, caller).await?;
    caller.require_owner_or_admin(&product.value.artisan_id)?;
    if product.version != expected {
        return Err(ProductError::PreconditionFailed);
    }
    if patch.status == Some(ProductStatus::Deleted) {
        return Err(ProductError::invalid(
            "status",
            "invalid",
            "use DELETE to delete a product",
        ));
    }
    let new_media = patch.media_ids.clone();
    let changed = patch.apply(&mut product.value);
    normalise(&mut product.value);
    validate(&product.value)?;
    if let Some(ids) = new_media {
        check_media(state, &ids, &product.value.artisan_id).await?;
    }
    product.value.updated_at = common::time::now();
    let event = updated_event(
        id,
        &product.value,
        changed.iter().map(|s| (*s).to_owned()).collect(),
        Some(product.value.price.into()),
    );
    save(state, &product, &event).await?;
    saved(state, id).await
}

/// Soft-delete product `id` as its artisan or an admin: hidden everywhere.
pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<(), ProductError> {
    let mut product = live(state, id, caller).await?;
    caller.require_owner_or_admin(&product.value.artisan_id)?;
    let now = common::time::now();
    product.value.status = ProductStatus::Deleted;
    product.value.deleted_at = Some(now);
    product.value.updated_at = now;
    let event = ProductDeleted {
        product_id: id.to_owned(),
        artisan_id: product.value.artisan_id.clone(),
    };
    save(state, &product, &event).await?;
    if let Err(e) = state.search.remove(id).await {
        tracing::warn!(product_id = id, error = %e, "search index not updated; the sync will catch up");
    }
    Ok(())
}

/// Bring soft-deleted product `id` back (an admin).
pub async fn restore(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Versioned<Product>, ProductError> {
    caller.require(&[Role::Admin])?;
    let mut product = state
        .products
        .get(id)
        .await?
        .ok_or_else(|| ProductError::NotFound(format!("product {id}")))?;
    if product.value.status != ProductStatus::Deleted {
        return Err(ProductError::NotDeleted);
    }
    product.value.status = ProductStatus::Active;
    product.value.deleted_at = None;
    product.value.updated_at = common::time::now();
    let event = updated_event(id, &product.value, vec!["status".to_owned()], None);
    save(state, &product, &event).await?;
    saved(state, id).await
}

/// Ask the ML service for product `id`'s cultural story in `language`
/// (default en) and keep it; when the ML service fails nothing changes.
pub async fn write_story(
    state: &AppState,
    caller: &Caller,
    id: &str,
    language: Option<String>,
) -> Result<Versioned<Product>, ProductError> {
    let product = live(state, id, caller).await?;
    caller.require_owner_or_admin(&product.value.artisan_id)?;
    let language = language.unwrap_or_else(|| "en".to_owned());
    if !LANGUAGES.contains(&language.as_str()) {
        return Err(ProductError::invalid(
            "language",
            "unknown_language",
            "no such language",
        ));
    }
    let request = StoryRequest {
        product_id: id.to_owned(),
        title: product.value.title.clone(),
        category: product.value.category.clone(),
        craft_tradition: product.value.craft_tradition.clone(),
        region: product.value.region.clone(),
        materials: product.value.materials.clone(),
        language,
    };
    let story = state
        .ml
        .cultural_story(&request)
        .await
        .map_err(ProductError::StoryUnavailable)?;
    let by = story.generated_by;
    let story: String = story.story.trim().chars().take(MAX_STORY_CHARS).collect();
    if story.is_empty() {
        return Err(ProductError::EmptyStory);
    }
    state
        .store
        .transact(async |tx: &mut Txn| {
            let Some(mut current) = tx.get::<Product>(id).await? else {
                return Err(ProductError::NotFound(format!("product {id}")));
            };
            current.value.cultural_story = Some(story.clone());
            current.value.cultural_story_by = by.clone();
            current.value.updated_at = common::time::now();
            tx.update(&current)?;
            let event = updated_event(id, &current.value, vec!["cultural_story".to_owned()], None);
            state.publisher.emit(tx, id, &event)?;
            Ok(())
        })
        .await?;
    saved(state, id).await
}

/// Write `product` at its read version (412 if it moved) with `event`.
async fn save<E: Event + Sync>(
    state: &AppState,
    product: &Versioned<Product>,
    event: &E,
) -> Result<(), ProductError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            tx.update(product)?;
            state.publisher.emit(tx, &product.id, event)?;
            Ok::<_, ProductError>(())
        })
        .await
}

/// Product `id` as just written, indexed at once (so its writer finds it).
async fn saved(state: &AppState, id: &str) -> Result<Versioned<Product>, ProductError> {
    let saved = state
        .products
        .get(id)
        .await?
        .ok_or_else(|| ProductError::NotFound("product".to_owned()))?;
    indexing::index_now(state, &saved).await;
    Ok(saved)
}

/// `product.updated` for `product` as it now is, naming what changed.
fn updated_event(
    id: &str,
    product: &Product,
    changed_fields: Vec<String>,
    price: Option<events::v1::Money>,
) -> ProductUpdated {
    ProductUpdated {
        product_id: id.to_owned(),
        artisan_id: product.artisan_id.clone(),
        changed_fields,
        price,
        status: product.status.as_str().to_owned(),
        media_ids: product.media_ids.clone(),
        category: product.category.clone(),
        subcategory: product.subcategory.clone(),
        region: product.region.clone().unwrap_or_default(),
        materials: product.materials.clone(),
        production_time_days: product.production_time_days.map_or(0, u32::from),
        title: product.title.clone(),
        description: product.description.clone().into_iter().collect(),
        craft_tradition: product.craft_tradition.clone().unwrap_or_default(),
    }
}
