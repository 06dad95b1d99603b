//! What clients send to list or change a product, and the rules every
//! product follows: validation naming each bad field, and normalisation.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use common::{Currency, Dimensions, Id, Money, Validator, schema};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};

use super::{
    AiInsights, CATEGORIES, LANGUAGES, MAX_PRICE_MINOR, Product, ProductStatus, SuggestedPrice,
};
use crate::error::ProductError;

/// `POST /products`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// 1–150 characters, not blank.
    #[schema(min_length = 1, max_length = 150, pattern = "\\S")]
    pub title: String,
    #[serde(deserialize_with = "common::bounded::map::<_, _, _, MAX_DESCRIPTIONS>")]
    #[schema(schema_with = descriptions_schema)]
    pub description: BTreeMap<String, String>,
    #[schema(schema_with = category_schema)]
    pub category: String,
    /// 1–60 characters, not blank (kept lowercased).
    #[schema(min_length = 1, max_length = 60, pattern = "\\S")]
    pub subcategory: String,
    #[schema(schema_with = price_schema)]
    pub price: Money,
    #[serde(
        default,
        deserialize_with = "common::bounded::vec::<_, _, MAX_MATERIALS>"
    )]
    #[schema(schema_with = materials_schema)]
    pub materials: Vec<String>,
    pub dimensions: Option<Dimensions>,
    /// Days to make it, 1–730.
    #[schema(minimum = 1, maximum = 730)]
    pub production_time_days: Option<u16>,
    /// 1–80 characters, not blank.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub region: Option<String>,
    /// 1–120 characters, not blank.
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub craft_tradition: Option<String>,
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, MAX_MEDIA>")]
    #[schema(schema_with = media_ids_schema)]
    pub media_ids: Vec<String>,
}

/// The most materials and images a product lists, and languages it is
/// described in: lists and maps stop being read past these (422
/// `too_many`), before any per-element work.
pub const MAX_MATERIALS: usize = 20;
pub const MAX_MEDIA: usize = 20;
pub const MAX_DESCRIPTIONS: usize = LANGUAGES.len();

/// `description`: language code → text, in at least one language.
fn descriptions_schema() -> Object {
    descriptions()
        .min_properties(Some(1))
        .description(Some(
            "Language code → text (1–5000 characters, not blank), in at least one language.",
        ))
        .build()
}

fn descriptions() -> ObjectBuilder {
    ObjectBuilder::new()
        .property_names(Some(schema::string_enum(LANGUAGES.iter().copied()).build()))
        .additional_properties(Some(schema::not_blank(MAX_DESCRIPTION_CHARS)))
        .max_properties(Some(LANGUAGES.len()))
}

/// The category: one of [`CATEGORIES`].
pub fn category_schema() -> ObjectBuilder {
    schema::string_enum(CATEGORIES.iter().copied())
}

/// A listing's price: INR minor units (paise), 1 to [`MAX_PRICE_MINOR`].
/// (`Money` in general takes any currency and amount.)
fn price_schema() -> Object {
    schema::inr(
        1,
        MAX_PRICE_MINOR,
        "In INR minor units (paise): 1 to 1,000,000,000 (₹1 crore).",
    )
}

/// `materials`: at most [`MAX_MATERIALS`] (after repeats are dropped),
/// each 1–60 characters, not blank; kept lowercased.
fn materials_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(schema::not_blank(MAX_MATERIAL_CHARS))
        .max_items(Some(MAX_MATERIALS))
        .description(Some(
            "At most 20, each 1–60 characters, not blank (kept lowercased, repeats dropped).",
        ))
}

/// `media_ids`: at most [`MAX_MEDIA`] ids of the artisan's own media
/// (another's, or one that does not exist, is 422).
fn media_ids_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(RefOr::Ref(Ref::from_schema_name("Id")))
        .max_items(Some(MAX_MEDIA))
        .description(Some(
            "At most 20 ids of media the artisan uploaded (one that does not exist or is \
             someone else's is 422).",
        ))
}

/// The longest texts, in characters.
const MAX_DESCRIPTION_CHARS: usize = 5000;
const MAX_MATERIAL_CHARS: usize = 60;

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
            cultural_story_by: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }
}

/// `PATCH /products/{id}`: every field optional (`null` leaves a field as
/// it is). The owner, the status of another's product and the fields other
/// services fill are not accepted. The product after the patch follows the
/// rules of `POST /products`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// 1–150 characters, not blank.
    #[schema(min_length = 1, max_length = 150, pattern = "\\S")]
    pub title: Option<String>,
    #[serde(
        default,
        deserialize_with = "common::bounded::opt_map::<_, _, _, MAX_DESCRIPTIONS>"
    )]
    #[schema(schema_with = descriptions_patch_schema)]
    pub description: Option<BTreeMap<String, String>>,
    #[schema(schema_with = category_patch_schema)]
    pub category: Option<String>,
    /// 1–60 characters, not blank (kept lowercased).
    #[schema(min_length = 1, max_length = 60, pattern = "\\S")]
    pub subcategory: Option<String>,
    #[schema(schema_with = price_patch_schema)]
    pub price: Option<Money>,
    #[serde(
        default,
        deserialize_with = "common::bounded::opt_vec::<_, _, MAX_MATERIALS>"
    )]
    #[schema(schema_with = materials_patch_schema)]
    pub materials: Option<Vec<String>>,
    pub dimensions: Option<Dimensions>,
    /// Days to make it, 1–730.
    #[schema(minimum = 1, maximum = 730)]
    pub production_time_days: Option<u16>,
    /// 1–80 characters, not blank.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub region: Option<String>,
    /// 1–120 characters, not blank.
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub craft_tradition: Option<String>,
    #[serde(
        default,
        deserialize_with = "common::bounded::opt_vec::<_, _, MAX_MEDIA>"
    )]
    #[schema(schema_with = media_ids_patch_schema)]
    pub media_ids: Option<Vec<String>>,
    #[schema(schema_with = status_patch_schema)]
    pub status: Option<ProductStatus>,
}

fn descriptions_patch_schema() -> Schema {
    schema::or_null(descriptions().description(Some(
        "Language code → text (1–5000 characters, not blank); the languages given \
         replace their text, the others stay.",
    )))
}

fn category_patch_schema() -> Schema {
    schema::or_null(category_schema())
}

fn price_patch_schema() -> Schema {
    schema::or_null(price_schema())
}

fn materials_patch_schema() -> Schema {
    schema::or_null(materials_schema())
}

fn media_ids_patch_schema() -> Schema {
    schema::or_null(media_ids_schema())
}

/// The statuses a product can be put in by a patch or listed by: `active`
/// or `paused` (deleting is `DELETE`, and deleted products are not listed).
pub fn settable_status_schema() -> ObjectBuilder {
    schema::string_enum([
        ProductStatus::Active.as_str(),
        ProductStatus::Paused.as_str(),
    ])
}

fn status_patch_schema() -> Schema {
    schema::or_null(
        settable_status_schema().description(Some("`active` or `paused` (deleting is `DELETE`).")),
    )
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
        v.length(&field, text, 1, MAX_DESCRIPTION_CHARS);
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
        p.materials.len() <= MAX_MATERIALS,
        "materials",
        "too_many",
        "at most 20 materials",
    );
    for (i, m) in p.materials.iter().enumerate() {
        v.length(&format!("materials[{i}]"), m, 1, MAX_MATERIAL_CHARS);
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
        p.media_ids.len() <= MAX_MEDIA,
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
