//! A product's size and weight, as every service carries it (the product
//! service stores it, the blockchain service hashes it into provenance).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Validator;

/// Size and weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    #[schema(minimum = 1, maximum = 100_000)]
    pub length: u32,
    #[schema(minimum = 1, maximum = 100_000)]
    pub width: u32,
    #[schema(minimum = 1, maximum = 100_000)]
    pub height: u32,
    pub unit: LengthUnit,
    /// Grams, at most 1,000 kg.
    #[schema(maximum = 1_000_000)]
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

impl Dimensions {
    /// The largest length, in the dimension's unit.
    pub const MAX_LENGTH: u32 = 100_000;
    /// The heaviest weight, grams.
    pub const MAX_WEIGHT_G: u32 = 1_000_000;

    /// Record what is out of range under `field` (e.g. `dimensions`).
    pub fn validate(&self, field: &str, v: &mut Validator) {
        for (name, value) in [
            ("length", self.length),
            ("width", self.width),
            ("height", self.height),
        ] {
            v.check(
                (1..=Self::MAX_LENGTH).contains(&value),
                &format!("{field}.{name}"),
                "out_of_range",
                "must be between 1 and 100000",
            );
        }
        v.check(
            self.weight_g <= Self::MAX_WEIGHT_G,
            &format!("{field}.weight_g"),
            "out_of_range",
            "at most 1000 kg",
        );
    }
}
