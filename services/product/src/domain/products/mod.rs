//! Products: the stored record, its status and the fields other services
//! fill, and the view clients see. Input and validation are in [`input`];
//! what the routes do with a product (visibility, saving with its event,
//! stories) in [`catalogue`].

pub mod catalogue;
pub mod input;

pub use input::{NewProduct, ProductPatch, normalise, validate};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use common::identity::Caller;
use common::{Dimensions, Money};
use serde::{Deserialize, Serialize};
use store::Entity;
use utoipa::ToSchema;

use crate::domain::engagement::Engagement;

pub use common::catalogue::CATEGORIES;

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
    /// Machine translations of the description into the catalogue
    /// languages the artisan left out — kept apart from the artisan's own
    /// `description`, never mistaken for it.
    #[serde(default)]
    pub translations: BTreeMap<String, String>,
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
    /// What wrote the story (`template`, or the model).
    #[serde(default)]
    pub cultural_story_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Entity for Product {
    const COLLECTION: &'static str = "products";
}

impl Product {
    /// Who may see this product — the one rule every path that returns a
    /// product goes through (detail, list, search, engagement): active to
    /// everyone; paused to its artisan and admins; deleted to admins. A
    /// service calling with its own token (no user behind the request)
    /// sees what the public sees: it may be answering the public (token
    /// metadata), and a call on behalf of a user carries that user's token.
    pub fn visible_to(&self, caller: Option<&Caller>) -> bool {
        let admin = caller.is_some_and(Caller::is_admin);
        match self.status {
            ProductStatus::Active => true,
            ProductStatus::Paused => admin || caller.is_some_and(|c| c.uid == self.artisan_id),
            ProductStatus::Deleted => admin,
        }
    }
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
    /// What wrote the story: `template` (the product's own fields through
    /// written templates) or the model that did.
    pub cultural_story_by: Option<String>,
    pub engagement: Engagement,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
            cultural_story_by: p.cultural_story_by.clone(),
            engagement,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}
