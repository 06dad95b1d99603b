//! What the service knows of each product, kept from the product events:
//! who may ask for its price, how it is classified, what it sells for.

use common::{Caller, Money};
use serde::{Deserialize, Serialize};
use store::Entity;

/// A product as the pricing service knows it; its id is the product's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub artisan_id: String,
    pub category: String,
    pub subcategory: String,
    /// The product's region as written (`None` when it has none).
    pub region: Option<String>,
    pub price: Money,
    pub materials: Vec<String>,
    pub production_time_days: Option<u32>,
    /// `active`, `paused` or `deleted`.
    pub status: String,
    /// When the event this reflects happened (µs): older events are
    /// ignored.
    pub as_of: i64,
}

impl Entity for Listing {
    const COLLECTION: &'static str = "listings";
}

impl Listing {
    /// Who may ask for this product's prices — the one rule every path
    /// that prices a product (calculate, optimize, its stored suggestion)
    /// goes through: its artisan, or an admin.
    pub fn may_price(&self, caller: &Caller) -> bool {
        caller.is_admin() || caller.uid == self.artisan_id
    }

    /// The region as a grouping key, if the product has one.
    pub fn region_key(&self) -> Option<String> {
        region_key(self.region.as_deref())
    }
}

/// A region as a grouping key; `None` for none or a blank one.
pub fn region_key(region: Option<&str>) -> Option<String> {
    region
        .map(common::catalogue::region_key)
        .filter(|r| !r.is_empty())
}
