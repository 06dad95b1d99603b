//! Products: the stored record, its validation, and the views clients see.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use common::error::Validator;
use common::{Currency, Money};
use serde::{Deserialize, Serialize};
use store::Entity;
use utoipa::ToSchema;

/// Categories of craft the catalogue accepts.
pub const CATEGORIES: &[&str] = &[
    "textiles",
    "pottery",
    "jewelry",
    "woodwork",
    "metalwork",
    "painting",
    "basketry",
    "leather",
    "stone_carving",
    "toys",
    "home_decor",
    "other",
];

/// Languages a description may be written in.
pub const LANGUAGES: &[&str] = &["en", "hi", "bn", "ta", "te", "mr"];

/// The largest price accepted: ₹1 crore in paise (anything above is a typo).
pub const MAX_PRICE_MINOR: i64 = 1_000_000_000;

/// Where a product stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Listed and orderable.
    Active,
    /// Hidden by its artisan for now.
    Paused,
    /// Soft-deleted: invisible everywhere; an admin may restore it.
    Deleted,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Active => "active",
            ProductStatus::Paused => "paused",
            ProductStatus::Deleted => "deleted",
        }
    }
}

/// Size and weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    pub length: u32,
    pub width: u32,
    pub height: u32,
    pub unit: LengthUnit,
    pub weight_g: u32,
}

/// Unit of the three lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LengthUnit {
    Mm,
    Cm,
    In,
}

/// Whether something computed elsewhere has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pending {
    #[default]
    Pending,
    Ready,
}

/// The ML service's analysis, filled by `ml.analysis.completed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AiInsights {
    pub status: Pending,
    pub tags: Vec<String>,
    pub quality_grade: Option<String>,
    pub dominant_colors: Vec<String>,
}

/// The pricing service's suggestion, filled by `pricing.suggested`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SuggestedPrice {
    pub status: Pending,
    pub suggested: Option<Money>,
    pub low: Option<Money>,
    pub high: Option<Money>,
    pub method: Option<String>,
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub artisan_id: String,
    pub title: String,
    pub description: BTreeMap<String, String>,
    pub category: String,
    pub subcategory: String,
    pub price: Money,
    pub materials: Vec<String>,
    pub dimensions: Option<Dimensions>,
    pub production_time_days: Option<u16>,
    pub region: Option<String>,
    pub craft_tradition: Option<String>,
    pub media_ids: Vec<String>,
    pub status: ProductStatus,
    #[serde(default)]
    pub ai: AiInsights,
    #[serde(default)]
    pub suggested_price: SuggestedPrice,
    pub cultural_story: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Entity for Product {
    const COLLECTION: &'static str = "products";
}

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
pub fn validate(p: &Product) -> Result<(), common::ApiError> {
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
        for (name, value) in [
            ("length", d.length),
            ("width", d.width),
            ("height", d.height),
        ] {
            v.check(
                (1..=100_000).contains(&value),
                &format!("dimensions.{name}"),
                "out_of_range",
                "must be between 1 and 100000",
            );
        }
        v.check(
            d.weight_g <= 1_000_000,
            "dimensions.weight_g",
            "out_of_range",
            "at most 1000 kg",
        );
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
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            &format!("media_ids[{i}]"),
            "invalid",
            "is not a media id",
        );
    }
    v.finish()
}

/// How clients see a product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    pub id: String,
    pub artisan_id: String,
    pub title: String,
    pub description: BTreeMap<String, String>,
    pub category: String,
    pub subcategory: String,
    pub price: Money,
    pub materials: Vec<String>,
    pub dimensions: Option<Dimensions>,
    pub production_time_days: Option<u16>,
    pub region: Option<String>,
    pub craft_tradition: Option<String>,
    pub media_ids: Vec<String>,
    pub status: ProductStatus,
    pub ai: AiInsights,
    pub suggested_price: SuggestedPrice,
    pub cultural_story: Option<String>,
    pub engagement: Engagement,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Counters of a product, kept apart from it so that a view does not
/// change the product's version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Engagement {
    pub views: u64,
    pub likes: u64,
    pub shares: u64,
}

impl Entity for Engagement {
    const COLLECTION: &'static str = "engagement";
}

impl ProductView {
    pub fn new(id: &str, p: &Product, engagement: Engagement) -> Self {
        Self {
            id: id.to_owned(),
            artisan_id: p.artisan_id.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            category: p.category.clone(),
            subcategory: p.subcategory.clone(),
            price: p.price,
            materials: p.materials.clone(),
            dimensions: p.dimensions.clone(),
            production_time_days: p.production_time_days,
            region: p.region.clone(),
            craft_tradition: p.craft_tradition.clone(),
            media_ids: p.media_ids.clone(),
            status: p.status,
            ai: p.ai.clone(),
            suggested_price: p.suggested_price.clone(),
            cultural_story: p.cultural_story.clone(),
            engagement,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Normalise free-text fields: trimmed, materials lowercased.
pub fn normalise(p: &mut Product) {
    p.title = p.title.trim().to_owned();
    p.subcategory = p.subcategory.trim().to_lowercase();
    let mut seen = std::collections::HashSet::new();
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
