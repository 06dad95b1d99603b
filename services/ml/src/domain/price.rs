//! `POST /ml/predict-price`: a price from the nearest comparable listings —
//! k nearest neighbours in the product's category by subcategory, region,
//! materials and production time, the prediction their distance-weighted
//! geometric mean, the 80% interval their weighted 10th–90th percentiles.
//! Learnt from the catalogue's own listings (kept from the product
//! events); thin data says so.

use std::collections::BTreeSet;

use common::Money;
use events::v1::{ProductCreated, ProductDeleted, ProductUpdated};
use events::{ConsumeError, Received};
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec, Txn};
use utoipa::ToSchema;

/// Comparables needed in the category before a price is predicted.
pub const MIN_COMPARABLES: usize = 5;
/// Neighbours a prediction is made from.
pub const NEIGHBOURS: usize = 15;
/// The most listings of a category one prediction reads.
pub const MAX_LISTINGS: usize = 2_000;

/// A listing as a comparable; its id is the product's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparable {
    pub category: String,
    pub subcategory: String,
    /// Region key (trimmed, lowercase); empty for none.
    pub region: String,
    /// Lowercase.
    pub materials: Vec<String>,
    pub production_time_days: Option<u32>,
    /// Paise (INR listings only).
    pub price: i64,
    pub active: bool,
}

impl Entity for Comparable {
    const COLLECTION: &'static str = "comparables";
}

/// The index the comparables query needs.
pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Comparable::COLLECTION,
        &[("category", Direction::Asc), ("active", Direction::Asc)],
    )]
}

/// Keep the comparables from the product events (INR listings only).
pub async fn learn(event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
    let inr = |m: Option<&events::v1::Money>| {
        m.filter(|m| m.currency == "INR" && m.amount > 0)
            .map(|m| m.amount)
    };
    if event.is::<ProductCreated>() {
        let p = event.decode::<ProductCreated>()?;
        // Every product is kept (a price in another currency as 0, never
        // compared), so that its later events find it.
        let price = inr(p.price.as_ref()).unwrap_or(0);
        let c = Comparable {
            category: p.category,
            subcategory: p.subcategory.to_lowercase(),
            region: common::catalogue::region_key(&p.region),
            materials: p
                .materials
                .iter()
                .map(|m| m.trim().to_lowercase())
                .collect(),
            production_time_days: (p.production_time_days > 0).then_some(p.production_time_days),
            price,
            active: p.status.is_empty() || p.status == "active",
        };
        tx.set(&p.product_id, &c)?;
    } else if event.is::<ProductUpdated>() {
        let p = event.decode::<ProductUpdated>()?;
        let Some(mut c) = tx.get::<Comparable>(&p.product_id).await? else {
            // Before its product.created (another topic): again later.
            return Err(ConsumeError::Unavailable(format!(
                "product {} is not yet known here",
                p.product_id
            )));
        };
        if let Some(price) = inr(p.price.as_ref()) {
            c.value.price = price;
        }
        if !p.status.is_empty() {
            c.value.active = p.status == "active";
        }
        if !p.category.is_empty() {
            // An event with these fields carries the product as it now is.
            c.value.category = p.category;
            c.value.subcategory = p.subcategory.to_lowercase();
            c.value.region = common::catalogue::region_key(&p.region);
            c.value.materials = p
                .materials
                .iter()
                .map(|m| m.trim().to_lowercase())
                .collect();
            c.value.production_time_days =
                (p.production_time_days > 0).then_some(p.production_time_days);
        }
        tx.update(&c)?;
    } else if event.is::<ProductDeleted>() {
        let p = event.decode::<ProductDeleted>()?;
        // Kept inactive: an admin may restore it (a product.updated).
        let Some(mut c) = tx.get::<Comparable>(&p.product_id).await? else {
            return Err(ConsumeError::Unavailable(format!(
                "product {} is not yet known here",
                p.product_id
            )));
        };
        c.value.active = false;
        tx.update(&c)?;
    }
    Ok(())
}

/// What is known of the piece to price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictPrice {
    /// Left out of its own comparables.
    #[schema(max_length = 128)]
    pub product_id: Option<String>,
    #[schema(max_length = 64)]
    pub category: String,
    #[serde(default)]
    #[schema(max_length = 80)]
    pub subcategory: String,
    #[schema(max_length = 80)]
    pub region: Option<String>,
    /// At most 20.
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 20>")]
    #[schema(max_items = 20)]
    pub materials: Vec<String>,
    #[schema(maximum = 3650)]
    pub production_time_days: Option<u32>,
    /// Not used by the comparables (listings do not state it); accepted
    /// for providers that can.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub labor_hours: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 5)]
    pub artisan_skill_level: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PredictionStatus {
    Predicted,
    InsufficientData,
}

/// One neighbour the prediction learnt from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Neighbour {
    pub product_id: String,
    pub price: Money,
    /// 0 is identical on every feature.
    pub distance: f64,
}

/// The prediction, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PricePrediction {
    pub status: PredictionStatus,
    pub price: Option<Money>,
    /// The 80% interval.
    pub low: Option<Money>,
    pub high: Option<Money>,
    /// Comparables in the category.
    pub comparables: usize,
    /// The nearest (at most five).
    pub nearest: Vec<Neighbour>,
    pub reason: Option<String>,
}

fn jaccard(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// The distance of `c` from the piece asked about: 1 for another
/// subcategory, 1 for another region, 2 × (1 − Jaccard) of materials, and
/// |ln| of the ratio of production days (each known).
fn distance(ask: &PredictPrice, region: &str, materials: &BTreeSet<&str>, c: &Comparable) -> f64 {
    let mut d = 0.0;
    if !ask.subcategory.is_empty() && !ask.subcategory.eq_ignore_ascii_case(&c.subcategory) {
        d += 1.0;
    }
    if !region.is_empty() && region != c.region {
        d += 1.0;
    }
    let theirs: BTreeSet<&str> = c.materials.iter().map(String::as_str).collect();
    d += 2.0 * (1.0 - jaccard(materials, &theirs));
    if let (Some(a), Some(b)) = (ask.production_time_days, c.production_time_days) {
        d += ((f64::from(a) + 1.0) / (f64::from(b) + 1.0)).ln().abs();
    }
    d
}

/// The weighted `q`-quantile of `(value, weight)` pairs sorted by value.
fn weighted_quantile(sorted: &[(f64, f64)], q: f64) -> f64 {
    let total: f64 = sorted.iter().map(|p| p.1).sum();
    let mut seen = 0.0;
    for (v, w) in sorted {
        seen += w;
        if seen >= q * total {
            return *v;
        }
    }
    sorted.last().map_or(0.0, |p| p.0)
}

/// Predict from `listings` (the category's, with their ids).
pub fn predict(ask: &PredictPrice, listings: &[(String, Comparable)]) -> PricePrediction {
    let region = ask
        .region
        .as_deref()
        .map(common::catalogue::region_key)
        .unwrap_or_default();
    let lowered: Vec<String> = ask
        .materials
        .iter()
        .map(|m| m.trim().to_lowercase())
        .collect();
    let materials: BTreeSet<&str> = lowered.iter().map(String::as_str).collect();
    let mut scored: Vec<(f64, &str, &Comparable)> = listings
        .iter()
        .filter(|(id, c)| c.active && c.price > 0 && ask.product_id.as_deref() != Some(id))
        .map(|(id, c)| (distance(ask, &region, &materials, c), id.as_str(), c))
        .collect();
    let n = scored.len();
    if n < MIN_COMPARABLES {
        return PricePrediction {
            status: PredictionStatus::InsufficientData,
            price: None,
            low: None,
            high: None,
            comparables: n,
            nearest: Vec::new(),
            reason: Some(format!(
                "{n} comparable listings in {}; {MIN_COMPARABLES} needed",
                ask.category
            )),
        };
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.truncate(NEIGHBOURS);
    let mut logs: Vec<(f64, f64)> = scored
        .iter()
        .map(|(d, _, c)| ((c.price as f64).ln(), 1.0 / (0.25 + d)))
        .collect();
    let total: f64 = logs.iter().map(|p| p.1).sum();
    let mean = logs.iter().map(|p| p.0 * p.1).sum::<f64>() / total;
    logs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let money = |ln: f64| Money::inr(ln.exp().round() as i64);
    let (low, high) = (weighted_quantile(&logs, 0.1), weighted_quantile(&logs, 0.9));
    PricePrediction {
        status: PredictionStatus::Predicted,
        price: Some(money(mean.clamp(low, high))),
        low: Some(money(low)),
        high: Some(money(high)),
        comparables: n,
        nearest: scored
            .iter()
            .take(5)
            .map(|(d, id, c)| Neighbour {
                product_id: (*id).to_owned(),
                price: Money::inr(c.price),
                distance: (d * 1_000.0).round() / 1_000.0,
            })
            .collect(),
        reason: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn listing(sub: &str, region: &str, materials: &[&str], days: u32, price: i64) -> Comparable {
        Comparable {
            category: "pottery".into(),
            subcategory: sub.into(),
            region: region.into(),
            materials: materials.iter().map(|m| (*m).to_owned()).collect(),
            production_time_days: Some(days),
            price,
            active: true,
        }
    }

    fn ask() -> PredictPrice {
        PredictPrice {
            product_id: Some("me".into()),
            category: "pottery".into(),
            subcategory: "vases".into(),
            region: Some("  Rajasthan".into()),
            materials: vec!["Clay".into(), "glaze".into()],
            production_time_days: Some(3),
            labor_hours: 0.0,
            artisan_skill_level: 0,
        }
    }

    #[test]
    fn the_nearest_listings_set_the_price_and_its_interval() {
        let mut all = vec![(
            "me".to_owned(),
            listing("vases", "rajasthan", &["clay", "glaze"], 3, 9_999_999),
        )];
        for i in 0..10 {
            all.push((
                format!("near{i}"),
                listing(
                    "vases",
                    "rajasthan",
                    &["clay", "glaze"],
                    3,
                    200_000 + i * 1_000,
                ),
            ));
            all.push((
                format!("far{i}"),
                listing("plates", "kerala", &["steel"], 30, 2_000_000),
            ));
        }
        let p = predict(&ask(), &all);
        assert_eq!(p.status, PredictionStatus::Predicted);
        assert_eq!(p.comparables, 20);
        let price = p.price.unwrap().amount;
        assert!((200_000..=212_000).contains(&price), "{p:?}");
        assert!(p.low.unwrap().amount <= price && price <= p.high.unwrap().amount);
        assert!(
            p.nearest
                .iter()
                .all(|n| n.product_id.starts_with("near") && n.distance == 0.0)
        );
        assert!(p.nearest.iter().all(|n| n.product_id != "me"));
    }

    #[test]
    fn thin_data_says_so() {
        let few: Vec<_> = (0..4)
            .map(|i| (format!("p{i}"), listing("vases", "", &[], 1, 1_000)))
            .collect();
        let p = predict(&ask(), &few);
        assert_eq!(
            (p.status, p.price),
            (PredictionStatus::InsufficientData, None)
        );
        assert!(p.reason.unwrap().contains("4 comparable listings"));
    }
}
