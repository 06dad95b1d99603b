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
use serde::Serialize;

use crate::clients::ProductInfo;

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
    dimensions: Option<serde_json::Value>,
    region: &'a Option<String>,
    craft_tradition: &'a Option<String>,
    media_sha256: &'a [String],
}

/// The hash of `product` with the sha256 of its photos (hex, in the
/// product's media order).
pub fn product_hash(product: &ProductInfo, media_sha256: &[String]) -> B256 {
    let canonical = Canonical {
        v: HASH_VERSION,
        product_id: &product.id,
        artisan_id: &product.artisan_id,
        title: &product.title,
        category: &product.category,
        subcategory: &product.subcategory,
        materials: &product.materials,
        dimensions: product.dimensions.as_ref().map(sorted),
        region: &product.region,
        craft_tradition: &product.craft_tradition,
        media_sha256,
    };
    // serde_json writes struct fields in declaration order, and `sorted`
    // fixes the order of free-form objects: the bytes are canonical.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    keccak256(bytes)
}

/// `value` with every object's keys in sorted order, whatever map type
/// serde_json was built with.
fn sorted(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(sorted).collect())
        }
        other => other.clone(),
    }
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
mod tests {
    use common::money::Money;

    use super::*;

    fn product() -> ProductInfo {
        ProductInfo {
            id: "p1".to_owned(),
            artisan_id: "a1".to_owned(),
            title: "Dokra horse".to_owned(),
            category: "metalwork".to_owned(),
            subcategory: "dokra".to_owned(),
            price: Money::inr(250_000),
            materials: vec!["brass".to_owned()],
            dimensions: Some(
                serde_json::json!({"length": 10, "width": 4, "height": 12, "unit": "cm", "weight_g": 800}),
            ),
            region: Some("Bastar".to_owned()),
            craft_tradition: None,
            media_ids: vec!["m1".to_owned()],
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
        reshaped.dimensions = Some(
            serde_json::json!({"weight_g": 800, "length": 11, "width": 4, "height": 12, "unit": "cm"}),
        );
        assert_ne!(base, product_hash(&reshaped, &sha));
    }

    #[test]
    fn dimension_key_order_does_not_matter() {
        let sha = vec!["ab".repeat(32)];
        let mut reordered = product();
        reordered.dimensions = Some(
            serde_json::json!({"weight_g": 800, "unit": "cm", "height": 12, "width": 4, "length": 10}),
        );
        assert_eq!(
            product_hash(&product(), &sha),
            product_hash(&reordered, &sha)
        );
    }
}
