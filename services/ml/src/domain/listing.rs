//! The catalogue's listings as text: what the product events say of each
//! product (title, the artisan's descriptions, tradition, region,
//! materials), kept for marketing content and as the corpus SEO keywords
//! are weighed against (each listing's distinct terms, so a category's
//! document frequencies are one bounded read).

use std::collections::BTreeMap;

use events::v1::{ProductCreated, ProductDeleted, ProductUpdated};
use events::{ConsumeError, Received};
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec, Query, Store, StoreError, Txn};

use super::text::templates::Facts;
use super::text::{keyword_text, keywords};
use crate::providers::Source;

/// Listings of a category one keyword extraction reads.
pub const MAX_CORPUS: usize = 2_000;

/// A listing; its id is the product's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub artisan_id: String,
    pub title: String,
    /// The artisan's own descriptions, by language.
    pub description: BTreeMap<String, String>,
    pub category: String,
    pub subcategory: String,
    pub region: String,
    pub craft_tradition: String,
    pub materials: Vec<String>,
    pub production_time_days: Option<u32>,
    /// Distinct terms of the title and descriptions (at most
    /// [`keywords::MAX_TERMS_PER_DOCUMENT`]).
    pub terms: Vec<String>,
    pub active: bool,
}

impl Entity for Listing {
    const COLLECTION: &'static str = "listings";
}

/// The index the corpus query needs.
pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Listing::COLLECTION,
        &[("category", Direction::Asc), ("active", Direction::Asc)],
    )]
}

impl Listing {
    /// Its fields as the templates and prompts take them.
    pub fn facts(&self) -> Facts {
        Facts {
            title: self.title.clone(),
            category: self.category.clone(),
            subcategory: self.subcategory.clone(),
            region: Some(self.region.clone()),
            craft_tradition: Some(self.craft_tradition.clone()),
            materials: self.materials.clone(),
            production_time_days: self.production_time_days,
        }
    }

    /// The text its terms come from: the same fields a product's keywords
    /// are drawn from ([`keyword_text`]), so the two compare.
    pub fn text(&self) -> String {
        keyword_text(&self.facts(), &self.description, "", &Source::template())
    }

    /// A listing from a `product.updated` that carries the whole product
    /// (or a `product.created` in that shape).
    fn from_whole(p: ProductUpdated) -> Self {
        let mut l = Listing {
            artisan_id: p.artisan_id,
            title: p.title,
            description: p.description.into_iter().collect(),
            category: p.category,
            subcategory: p.subcategory,
            region: p.region,
            craft_tradition: p.craft_tradition,
            materials: p.materials,
            production_time_days: (p.production_time_days > 0).then_some(p.production_time_days),
            terms: Vec::new(),
            active: p.status == "active",
        };
        l.terms = keywords::distinct_terms(&l.text());
        l
    }
}

/// Keep the listings from the product events.
pub async fn learn(event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
    if event.is::<ProductCreated>() {
        let p = event.decode::<ProductCreated>()?;
        if tx.get::<Listing>(&p.product_id).await?.is_some() {
            // A later product.updated, which carries the whole product,
            // arrived first and is newer.
            return Ok(());
        }
        // The same fields as a whole product.updated; an empty status (an
        // event older than the field) is active.
        let whole = ProductUpdated {
            status: if p.status.is_empty() {
                "active".to_owned()
            } else {
                p.status
            },
            artisan_id: p.artisan_id,
            title: p.title,
            description: p.description,
            category: p.category,
            subcategory: p.subcategory,
            region: p.region,
            craft_tradition: p.craft_tradition,
            materials: p.materials,
            production_time_days: p.production_time_days,
            ..ProductUpdated::default()
        };
        tx.set(&p.product_id, &Listing::from_whole(whole))?;
    } else if event.is::<ProductUpdated>() {
        let p = event.decode::<ProductUpdated>()?;
        let Some(mut l) = tx.get::<Listing>(&p.product_id).await? else {
            // Before its product.created, or a product listed before this
            // collection existed: an update with the title carries the
            // whole product; an older one has nothing to add.
            if !p.title.is_empty() {
                let id = p.product_id.clone();
                tx.set(&id, &Listing::from_whole(p))?;
            }
            return Ok(());
        };
        if !p.status.is_empty() {
            l.value.active = p.status == "active";
        }
        if !p.category.is_empty() {
            l.value.category = p.category;
            l.value.subcategory = p.subcategory;
            l.value.region = p.region;
            l.value.materials = p.materials;
            l.value.production_time_days =
                (p.production_time_days > 0).then_some(p.production_time_days);
        }
        if !p.title.is_empty() {
            l.value.title = p.title;
            l.value.description = p.description.into_iter().collect();
            l.value.craft_tradition = p.craft_tradition;
            l.value.terms = keywords::distinct_terms(&l.value.text());
        }
        tx.update(&l)?;
    } else if event.is::<ProductDeleted>() {
        let p = event.decode::<ProductDeleted>()?;
        if let Some(mut l) = tx.get::<Listing>(&p.product_id).await? {
            l.value.active = false;
            tx.update(&l)?;
        }
    }
    Ok(())
}

/// The distinct terms of the category's active listings, at most
/// [`MAX_CORPUS`] of them.
pub async fn corpus(store: &Store, category: &str) -> Result<Vec<Vec<String>>, StoreError> {
    let q = Query::new().eq("category", category).eq("active", true);
    let listings = store
        .collection::<Listing>()
        .query_up_to(&q, MAX_CORPUS)
        .await?;
    Ok(listings.into_iter().map(|l| l.value.terms).collect())
}
