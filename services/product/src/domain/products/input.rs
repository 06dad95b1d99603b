//! What clients send to list or change a product, and the rules every
//! product follows: validation naming each bad field, and normalisation.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use common::{Currency, Dimensions, Id, Money, Validator};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    AiInsights, CATEGORIES, LANGUAGES, MAX_PRICE_MINOR, Product, ProductStatus, SuggestedPrice,
};
use crate::error::ProductError;

/// `POST /products`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub title: String,
    /// Language code → text; at least one of en, hi, bn, ta, te, mr.
    pub description: BTreeMap<String, String>,
    pub category: String,
    pub subcategory: String,
    pub price: Money,
    #[serde(default)]
    pub materials: Vec<String>,
    pub dimensions: Option<Dimensions>,
    pub production_time_days: Option<u16>,
    pub region: Option<String>,
    pub craft_tradition: Option<String>,
    #[serde(default)]
    pub media_ids: Vec<String>,
}

impl NewProduct {
    /// The product `artisan_id` lists with this body, active from `now`
    /// (not yet normalised or validated).
    pub fn into_product(self, artisan_id: &str, now: DateTime<Utc>) -> Product {
        Product {
            artisan_id: artisan_id.to_owned(),
            title: self.title,
            description: self.description,
            category: self.category,
            subcategory: self.subcategory,
            price: self.price,
            materials: self.materials,
            dimensions: self.dimensions,
            production_time_days: self.production_time_days,
            region: self.region,
            craft_tradition: self.craft_tradition,
            media_ids: self.media_ids,
            status: ProductStatus::Active,
            ai: AiInsights::default(),
            suggested_price: SuggestedPrice::default(),
            cultural_story: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }
}

/// `PATCH /products/{id}`: every field optional. The owner, the status of
/// another's product and the fields other services fill are not accepted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub title: Option<String>,
    /// Languages given replace their text; the others stay.
    pub description: Option<BTreeMap<String, String>>,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub price: Option<Money>,
    pub materials: Option<Vec<String>>,
    pub dimensions: Option<Dimensions>,
    pub production_time_days: Option<u16>,
    pub region: Option<String>,
    pub craft_tradition: Option<String>,
    pub media_ids: Option<Vec<String>>,
    /// `active` or `paused` (deleting is `DELETE`).
    pub status: Option<ProductStatus>,
}

/// Check every field of a product, naming each bad one.
pub fn validate(p: &Product) -> Result<(), ProductError> {
    let mut v = Validator::new();
    v.length("title", &p.title, 1, 150);
    v.check(
        !p.description.is_empty(),
        "description",
        "required",
        "give a description in at least one language",
    );
    for (lang, text) in &p.description {
        let field = format!("description.{lang}");
        v.check(
            LANGUAGES.contains(&lang.as_str()),
            &field,
            "unknown_language",
            format!("expected one of {}", LANGUAGES.join(", ")),
        );
        v.length(&field, text, 1, 5000);
    }
    v.check(
        CATEGORIES.contains(&p.category.as_str()),
        "category",
        "unknown_category",
        format!("expected one of {}", CATEGORIES.join(", ")),
    );
    v.length("subcategory", &p.subcategory, 1, 60);
    v.check(
        p.price.amount > 0,
        "price.amount",
        "out_of_range",
        "must be positive (minor units)",
    );
    v.check(
        p.price.amount <= MAX_PRICE_MINOR,
        "price.amount",
        "out_of_range",
        format!("must be at most {MAX_PRICE_MINOR} minor units"),
    );
    v.check(
        p.price.currency == Currency::INR,
        "price.currency",
        "unsupported",
        "listings are priced in INR",
    );
    v.check(
        p.materials.len() <= 20,
        "materials",
        "too_many",
        "at most 20 materials",
    );
    for (i, m) in p.materials.iter().enumerate() {
        v.length(&format!("materials[{i}]"), m, 1, 60);
    }
    if let Some(d) = &p.dimensions {
        d.validate("dimensions", &mut v);
    }
    if let Some(days) = p.production_time_days {
        v.check(
            (1..=730).contains(&days),
            "production_time_days",
            "out_of_range",
            "between 1 and 730 days",
        );
    }
    for (field, value, max) in [
        ("region", &p.region, 80),
        ("craft_tradition", &p.craft_tradition, 120),
    ] {
        if let Some(value) = value {
            v.length(field, value, 1, max);
        }
    }
    v.check(
        p.media_ids.len() <= 20,
        "media_ids",
        "too_many",
        "at most 20 images",
    );
    for (i, id) in p.media_ids.iter().enumerate() {
        v.check(
            Id::is_valid(id),
            &format!("media_ids[{i}]"),
            "invalid",
            "is not a media id",
        );
    }
    Ok(v.finish()?)
}

/// Normalise free-text fields: trimmed, materials lowercased.
pub fn normalise(p: &mut Product) {
    p.title = p.title.trim().to_owned();
    p.subcategory = p.subcategory.trim().to_lowercase();
    let mut seen = HashSet::new();
    p.materials = p
        .materials
        .iter()
        .map(|m| m.trim().to_lowercase())
        .filter(|m| seen.insert(m.clone()))
        .collect();
    for text in p.description.values_mut() {
        *text = text.trim().to_owned();
    }
    p.region = p.region.take().map(|r| r.trim().to_owned());
    p.craft_tradition = p.craft_tradition.take().map(|r| r.trim().to_owned());
}

impl ProductPatch {
    /// Names of the fields the patch sets.
    pub fn apply(self, p: &mut Product) -> Vec<&'static str> {
        let mut changed = Vec::new();
        macro_rules! set {
            ($field:ident) => {
                if let Some(v) = self.$field {
                    p.$field = v;
                    changed.push(stringify!($field));
                }
            };
            (opt $field:ident) => {
                if let Some(v) = self.$field {
                    p.$field = Some(v);
                    changed.push(stringify!($field));
                }
            };
        }
        set!(title);
        if let Some(d) = self.description {
            p.description.extend(d);
            changed.push("description");
        }
        set!(category);
        set!(subcategory);
        set!(price);
        set!(materials);
        set!(opt dimensions);
        set!(opt production_time_days);
        set!(opt region);
        set!(opt craft_tradition);
        set!(media_ids);
        set!(status);
        changed
    }
}
