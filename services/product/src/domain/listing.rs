//! Browsing the catalogue: the filters shared by `GET /products` and
//! search, who may list paused products, and one page of a list.

use common::identity::Caller;
use common::{PageParams, Validator, schema};
use serde::Deserialize;
use store::{Cursor, Direction, Op, StoreError, Versioned};
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::{IntoParams, ToSchema};

use crate::domain::products::input::{category_schema, settable_status_schema};
use crate::domain::products::{CATEGORIES, Product, ProductStatus};
use crate::error::ProductError;
use crate::search::SearchFilters;
use crate::state::AppState;
use store::Entity as _;

/// How a list is sorted.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
}

/// Filters of `GET /products` (and of search).
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(schema_with = category_param)]
    #[schema(schema_with = category_filter)]
    pub category: Option<String>,
    #[param(max_length = 60)]
    #[schema(max_length = 60)]
    pub subcategory: Option<String>,
    #[param(max_length = 80)]
    #[schema(max_length = 80)]
    pub region: Option<String>,
    /// Products of one artisan.
    #[param(max_length = 128)]
    #[schema(max_length = 128)]
    pub artisan: Option<String>,
    /// Minimum price, minor units (at most `max_price`).
    pub min_price: Option<i64>,
    /// Maximum price, minor units.
    pub max_price: Option<i64>,
    #[param(max_length = 60)]
    #[schema(max_length = 60)]
    pub material: Option<String>,
    /// `active` (default) or `paused`.
    #[param(schema_with = status_param)]
    #[schema(schema_with = status_filter)]
    pub status: Option<ProductStatus>,
    #[param(inline)]
    pub sort: Option<Sort>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (opaque).
    #[param(pattern = "^[A-Za-z0-9_-]+$", max_length = 2048)]
    #[schema(pattern = "^[A-Za-z0-9_-]+$", max_length = 2048)]
    pub cursor: Option<String>,
}

fn category_param() -> ObjectBuilder {
    category_schema()
}

fn category_filter() -> Schema {
    schema::or_null(category_schema())
}

fn status_param() -> ObjectBuilder {
    settable_status_schema()
}

fn status_filter() -> Schema {
    schema::or_null(settable_status_schema())
}

/// The longest cursor, in bytes.
const MAX_CURSOR_BYTES: usize = 2048;

impl ListParams {
    /// Check the filters, naming each bad one: every string has a bound
    /// (in bytes, the schema's `max_length`).
    pub fn check(&self) -> Result<(), ProductError> {
        let mut v = Validator::new();
        if let Some(c) = &self.category {
            v.check(
                CATEGORIES.contains(&c.as_str()),
                "category",
                "unknown_category",
                "no such category",
            );
        }
        for (field, value, max) in [
            ("subcategory", &self.subcategory, 60),
            ("region", &self.region, 80),
            ("artisan", &self.artisan, 128),
            ("material", &self.material, 60),
            ("cursor", &self.cursor, MAX_CURSOR_BYTES),
        ] {
            if let Some(value) = value {
                v.check_with(value.len() <= max, field, "too_long", || {
                    format!("at most {max} characters")
                });
            }
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
        Ok(v.finish()?)
    }

    /// The page size asked for (422 naming `limit` when out of range).
    pub fn limit(&self) -> Result<usize, ProductError> {
        let page = PageParams {
            limit: self.limit,
            cursor: None,
        };
        Ok(page.limit()?)
    }

    /// Whether `caller` may ask for this listing: paused products only by
    /// their artisan (with `artisan=<their id>`) and admins. Every product
    /// listed still goes through [`Product::visible_to`].
    pub fn authorize(&self, caller: Option<&Caller>) -> Result<(), ProductError> {
        let allowed =
            caller.is_some_and(|c| c.is_admin() || self.artisan.as_deref() == Some(c.uid.as_str()));
        if self.status == Some(ProductStatus::Paused) && !allowed {
            return Err(ProductError::Forbidden(
                "paused products are listed only to their artisan (with artisan=<your id>) and admins"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// The status listed: active unless paused is asked for.
    pub fn status(&self) -> ProductStatus {
        self.status.unwrap_or(ProductStatus::Active)
    }

    /// The material asked for, as materials are stored.
    fn material(&self) -> Option<String> {
        self.material.as_ref().map(|m| m.trim().to_lowercase())
    }

    /// The same filters for the search index.
    pub fn search_filters(&self) -> SearchFilters {
        SearchFilters {
            category: self.category.clone(),
            subcategory: self.subcategory.clone(),
            region: self.region.clone(),
            artisan_id: self.artisan.clone(),
            material: self.material(),
            status: Some(self.status().as_str().to_owned()),
            min_price: self.min_price,
            max_price: self.max_price,
        }
    }

    /// What the store is asked: the status, the first of the leading
    /// filters given (most selective first), and the sort, with the price
    /// range when the sort is by price; one of the [`listing_indexes`]
    /// serves every such query. The other filters are checked on what it
    /// reads ([`ListParams::matches`]), so any combination works on every
    /// backend without an index per combination.
    fn query(&self, limit: usize, cursor: Option<Cursor>) -> store::Query {
        let mut q = store::Query::new().eq("status", self.status().as_str());
        let lead = [
            ("artisan_id", &self.artisan),
            ("category", &self.category),
            ("region", &self.region),
        ]
        .into_iter()
        .find_map(|(field, value)| value.as_ref().map(|v| (field, v)));
        if let Some((field, value)) = lead {
            q = q.eq(field, value.as_str());
        }
        let (field, direction) = self.sort.unwrap_or_default().order();
        if field == "price.amount" {
            if let Some(lo) = self.min_price {
                q = q.filter("price.amount", Op::Ge, lo);
            }
            if let Some(hi) = self.max_price {
                q = q.filter("price.amount", Op::Le, hi);
            }
        }
        q.order_by(field, direction).limit(limit).after(cursor)
    }

    /// Whether `product` passes every filter (those the store applied too).
    fn matches(&self, product: &Product) -> bool {
        let is = |wanted: &Option<String>, value: Option<&str>| {
            wanted.as_deref().is_none_or(|w| Some(w) == value)
        };
        let material = self.material();
        product.status == self.status()
            && is(&self.category, Some(&product.category))
            && is(&self.subcategory, Some(&product.subcategory))
            && is(&self.region, product.region.as_deref())
            && is(&self.artisan, Some(&product.artisan_id))
            && material.is_none_or(|m| product.materials.contains(&m))
            && self.min_price.is_none_or(|lo| product.price.amount >= lo)
            && self.max_price.is_none_or(|hi| product.price.amount <= hi)
    }
}

impl Sort {
    /// The field and direction a list so sorted is read in.
    fn order(self) -> (&'static str, Direction) {
        match self {
            Sort::Newest => ("created_at", Direction::Desc),
            Sort::PriceAsc => ("price.amount", Direction::Asc),
            Sort::PriceDesc => ("price.amount", Direction::Desc),
        }
    }
}

/// With filters the store does not apply, one page of a list reads at
/// most this many times `limit` products…
const SCAN_FACTOR: usize = 4;
/// …in at most this many reads.
const MAX_READS_PER_PAGE: usize = 4;

/// The indexes a list reads by: the status, at most one leading filter
/// (artisan, category or region), and the sort.
pub fn listing_indexes() -> Vec<store::IndexSpec> {
    let sorts = [Sort::Newest, Sort::PriceAsc, Sort::PriceDesc].map(Sort::order);
    [None, Some("artisan_id"), Some("category"), Some("region")]
        .into_iter()
        .flat_map(|lead| {
            sorts.iter().map(move |&(field, direction)| {
                let mut fields = vec![("status", Direction::Asc)];
                fields.extend(lead.map(|l| (l, Direction::Asc)));
                fields.push((field, direction));
                store::IndexSpec::new(Product::COLLECTION, &fields)
            })
        })
        .collect()
}

/// One page of the catalogue as `caller` asked for it, and the cursor of
/// the next. Paused products are listed only to their artisan (asking
/// for their own) and to admins. Filters the store does not apply are
/// checked on what it reads: the first read asks for `limit` products,
/// each further one for the missing matches at the rate seen so far (in
/// all at most [`SCAN_FACTOR`] × `limit` products in
/// [`MAX_READS_PER_PAGE`] reads), and a page that fills part-way through
/// a read ends there, with a cursor just after its last product. A page
/// may hold fewer than `limit` products, even none, while `next_cursor`
/// is set.
pub async fn list(
    state: &AppState,
    caller: Option<&Caller>,
    params: &ListParams,
) -> Result<(Vec<Versioned<Product>>, Option<Cursor>), ProductError> {
    params.check()?;
    params.authorize(caller)?;
    let limit = params.limit()?;
    let mut cursor = params.cursor.as_deref().map(Cursor::parse).transpose()?;
    let budget = limit * SCAN_FACTOR;
    let (mut page, mut scanned, mut ask) = (Vec::new(), 0, limit);
    for _ in 0..MAX_READS_PER_PAGE {
        let query = params.query(ask, cursor);
        let (read, next) = state.products.query(&query).await?;
        scanned += read.len();
        let count = read.len();
        for (i, product) in read.into_iter().enumerate() {
            if !(params.matches(&product.value) && product.value.visible_to(caller)) {
                continue;
            }
            page.push(product);
            if page.len() == limit && i + 1 < count {
                let last = &page[limit - 1];
                let data = serde_json::to_value(&last.value).map_err(StoreError::Serialize)?;
                let after = query.cursor_after_data(&last.id, &data);
                return Ok((page, Some(after)));
            }
        }
        cursor = next;
        if page.len() >= limit || cursor.is_none() || scanned >= budget {
            break;
        }
        let missing = limit - page.len();
        let at_rate = 2 * missing * scanned / page.len().max(1);
        ask = at_rate.max(missing).min(budget - scanned);
    }
    Ok((page, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the filters, with each sort.
    fn every_listing() -> impl Iterator<Item = ListParams> {
        (0..1u32 << 7).flat_map(|mask| {
            [Sort::Newest, Sort::PriceAsc, Sort::PriceDesc].map(move |sort| {
                let on = |bit: u32| mask & (1 << bit) != 0;
                ListParams {
                    category: on(0).then(|| "textiles".to_owned()),
                    subcategory: on(1).then(|| "saree".to_owned()),
                    region: on(2).then(|| "West Bengal".to_owned()),
                    artisan: on(3).then(|| "artisan-1".to_owned()),
                    material: on(4).then(|| "silk".to_owned()),
                    min_price: on(5).then_some(1_000),
                    max_price: on(6).then_some(90_000),
                    sort: Some(sort),
                    ..ListParams::default()
                }
            })
        })
    }

    #[test]
    fn every_combination_of_filters_reads_by_a_declared_index() {
        let indexes = store::FirestoreIndexes::from_specs(&crate::indexes());
        let mut listings = 0;
        for params in every_listing() {
            let query = params.query(20, None);
            query
                .validate()
                .unwrap_or_else(|e| panic!("{params:?}: {e}"));
            indexes
                .check(Product::COLLECTION, &query)
                .unwrap_or_else(|e| panic!("{params:?}: {e}"));
            listings += 1;
        }
        assert_eq!(listings, 128 * 3);
    }
}
