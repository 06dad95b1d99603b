//! The product hash: what a provenance token certifies.
//!
//! keccak256 over a canonical JSON document (fixed field order, version
//! tag) of the product's identity and making — who made it, what it is,
//! what it is made of, where it comes from, its size — and the sha256 of
//! each photo's original bytes, in the product's order. Price, status,
//! engagement and descriptions are left out: they change over a product's
//! life (descriptions gain machine translations) without changing the
//! object. The service computes it; clients never supply it.

use alloy::primitives::{B256, keccak256};
use common::{Dimensions, LengthUnit};
use serde::Serialize;

use crate::domain::clients::ProductInfo;

/// Bumped if the canonical form ever changes; old tokens keep verifying
/// against the version they were minted with.
pub const HASH_VERSION: u32 = 1;

#[derive(Serialize)]
struct Canonical<'a> {
    v: u32,
    product_id: &'a str,
    artisan_id: &'a str,
    title: &'a str,
    category: &'a str,
    subcategory: &'a str,
    materials: &'a [String],
    dimensions: Option<CanonicalDimensions>,
    region: &'a Option<String>,
    craft_tradition: &'a Option<String>,
    media_sha256: &'a [String],
}

/// The dimensions with their keys in sorted order, as version 1 has
/// always written them (it hashed the product service's free-form object
/// with every key sorted).
#[derive(Serialize)]
struct CanonicalDimensions {
    height: u32,
    length: u32,
    unit: LengthUnit,
    weight_g: u32,
    width: u32,
}

impl From<&Dimensions> for CanonicalDimensions {
    fn from(d: &Dimensions) -> Self {
        // Destructured whole: a new field must be placed here, in order.
        let &Dimensions {
            length,
            width,
            height,
            unit,
            weight_g,
        } = d;
        Self {
            height,
            length,
            unit,
            weight_g,
            width,
        }
    }
}

/// The canonical document of `product` with the sha256 of its photos:
/// serde_json writes struct fields in declaration order, so the bytes
/// are fixed.
fn canonical(product: &ProductInfo, media_sha256: &[String]) -> Vec<u8> {
    let canonical = Canonical {
        v: HASH_VERSION,
        product_id: &product.id,
        artisan_id: &product.artisan_id,
        title: &product.title,
        category: &product.category,
        subcategory: &product.subcategory,
        materials: &product.materials,
        dimensions: product.dimensions.as_ref().map(CanonicalDimensions::from),
        region: &product.region,
        craft_tradition: &product.craft_tradition,
        media_sha256,
    };
    serde_json::to_vec(&canonical).unwrap_or_default()
}

/// The hash of `product` with the sha256 of its photos (hex, in the
/// product's media order).
pub fn product_hash(product: &ProductInfo, media_sha256: &[String]) -> B256 {
    keccak256(canonical(product, media_sha256))
}

/// The hash of an artisan id, as kept on chain (no personal data on chain).
pub fn artisan_id_hash(artisan_id: &str) -> B256 {
    keccak256(artisan_id.as_bytes())
}

/// The on-chain key of an order id.
pub fn order_key(order_id: &str) -> B256 {
    keccak256(order_id.as_bytes())
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use common::Id;
    use common::money::Money;

    use super::*;

    fn id(raw: &str) -> Id {
        Id::parse(raw).expect("an id")
    }

    /// Dimensions as the product service sends them.
    fn dims(json: serde_json::Value) -> Dimensions {
        serde_json::from_value(json).expect("dimensions")
    }

    fn product() -> ProductInfo {
        ProductInfo {
            id: id("p1"),
            artisan_id: id("a1"),
            title: "Dokra horse".to_owned(),
            category: "metalwork".to_owned(),
            subcategory: "dokra".to_owned(),
            price: Money::inr(250_000),
            materials: vec!["brass".to_owned()],
            dimensions: Some(dims(
                serde_json::json!({"length": 10, "width": 4, "height": 12, "unit": "cm", "weight_g": 800}),
            )),
            region: Some("Bastar".to_owned()),
            craft_tradition: None,
            media_ids: vec![id("m1")],
        }
    }

    #[test]
    fn the_hash_follows_what_the_object_is_not_its_price() {
        let sha = vec!["ab".repeat(32)];
        let base = product_hash(&product(), &sha);
        assert_eq!(base, product_hash(&product(), &sha), "deterministic");

        let mut repriced = product();
        repriced.price = Money::inr(1);
        assert_eq!(
            base,
            product_hash(&repriced, &sha),
            "price is not provenance"
        );

        let mut other_material = product();
        other_material.materials = vec!["bronze".to_owned()];
        assert_ne!(base, product_hash(&other_material, &sha));

        assert_ne!(
            base,
            product_hash(&product(), &["cd".repeat(32)]),
            "a photo swapped"
        );
        let mut reshaped = product();
        reshaped.dimensions = Some(dims(
            serde_json::json!({"weight_g": 800, "length": 11, "width": 4, "height": 12, "unit": "cm"}),
        ));
        assert_ne!(base, product_hash(&reshaped, &sha));
    }

    #[test]
    fn dimension_key_order_does_not_matter() {
        let sha = vec!["ab".repeat(32)];
        let mut reordered = product();
        reordered.dimensions = Some(dims(
            serde_json::json!({"weight_g": 800, "unit": "cm", "height": 12, "width": 4, "length": 10}),
        ));
        assert_eq!(
            product_hash(&product(), &sha),
            product_hash(&reordered, &sha)
        );
    }

    /// Version 1's bytes, and so every token minted with it, never change.
    #[test]
    fn version_1_bytes_and_hash_are_fixed() {
        let sha = vec!["ab".repeat(32)];
        let expected = concat!(
            r#"{"v":1,"product_id":"p1","artisan_id":"a1","title":"Dokra horse","#,
            r#""category":"metalwork","subcategory":"dokra","materials":["brass"],"#,
            r#""dimensions":{"height":12,"length":10,"unit":"cm","weight_g":800,"width":4},"#,
            r#""region":"Bastar","craft_tradition":null,"#,
            r#""media_sha256":["abababababababababababababababababababababababababababababababab"]}"#,
        );
        assert_eq!(
            String::from_utf8(canonical(&product(), &sha)).expect("utf-8"),
            expected
        );
        assert_eq!(
            product_hash(&product(), &sha).to_string(),
            "0xacd82de4c12f39d4d8cbaee76099e00b24aeb13c71de65754f482bd139b642c4"
        );
    }
}
