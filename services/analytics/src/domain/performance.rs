//! A product's performance: engagement, sales, where its buyers are, and a
//! score explained by its parts, each a percentile among the products of
//! its category in the same period.

use common::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dashboard::conversion;
use super::period::{Period, Span, now};
use super::{Analytics, round1, round4};
use crate::error::AnalyticsError;
use crate::facts::{Count, Engagement, ProductFigures, Sales, Scope, StoredProduct};

/// The most products of a category a score compares with.
const MAX_COMPARED: usize = 2_000;

/// One part of the score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScorePart {
    /// `views`, `conversion`, `likes_per_view` or `revenue`.
    pub name: String,
    pub value: f64,
    /// The share of the category's products with any activity in the
    /// period (at most the 2,000 most viewed, itself always among them)
    /// that this one does as well as or better than (0–1).
    pub percentile: f64,
    pub weight: f64,
    /// percentile × weight × 100.
    pub points: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Score {
    /// 0–100: the sum of the parts' points.
    pub value: f64,
    pub parts: Vec<ScorePart>,
    /// How many products of the category it was compared with (itself
    /// included).
    pub compared_with: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Performance {
    pub product_id: String,
    pub title: String,
    pub category: String,
    pub period: Period,
    pub window: Span,
    pub views: i64,
    /// Net of unlikes.
    pub likes: i64,
    pub shares: i64,
    /// Opens from search results.
    pub search_clicks: i64,
    pub orders: i64,
    pub units_sold: i64,
    pub revenue: Money,
    /// Orders ÷ views; absent without views.
    pub conversion: Option<f64>,
    /// Units by the region (state) of the buyer's address.
    pub buyer_regions: Vec<Count>,
    pub score: Score,
}

/// The score's parts and their weights.
const PARTS: [(&str, f64); 4] = [
    ("views", 0.3),
    ("conversion", 0.3),
    ("likes_per_view", 0.2),
    ("revenue", 0.2),
];

fn part_value(name: &str, s: Sales, e: Engagement) -> f64 {
    match name {
        "views" => e.views as f64,
        "conversion" => conversion(s, e).unwrap_or(0.0),
        "likes_per_view" if e.views > 0 => e.likes as f64 / e.views as f64,
        "revenue" => s.revenue as f64,
        _ => 0.0,
    }
}

/// The score of `me` among `peers` (which include it).
pub fn score(me: (Sales, Engagement), peers: &[ProductFigures]) -> Score {
    let n = peers.len().max(1);
    let parts: Vec<ScorePart> = PARTS
        .iter()
        .map(|(name, weight)| {
            let value = part_value(name, me.0, me.1);
            let at_or_below = peers
                .iter()
                .filter(|p| part_value(name, p.sales, p.engagement) <= value)
                .count()
                .max(1);
            let percentile = round4(at_or_below as f64 / n as f64);
            ScorePart {
                name: (*name).to_owned(),
                value: round4(value),
                percentile,
                weight: *weight,
                points: round1(percentile * weight * 100.0),
            }
        })
        .collect();
    Score {
        value: round1(parts.iter().map(|p| p.points).sum()),
        parts,
        compared_with: peers.len().max(1),
    }
}

impl Analytics {
    /// `GET /analytics/performance/{product_id}` of a product the caller
    /// may see ([`Analytics::product_of`]).
    pub async fn performance(
        &self,
        product: StoredProduct,
        period: Period,
    ) -> Result<Performance, AnalyticsError> {
        let now = now();
        self.facts(move |f| {
            let w = period.window(now);
            let scope = Scope::Product(product.product_id.clone());
            let s = f.sales(&scope, w)?;
            let e = f.engagement(&scope, w)?;
            let mut peers = f.category_products(&product.category, w, MAX_COMPARED)?;
            if !peers.iter().any(|p| p.product_id == product.product_id) {
                peers.push(ProductFigures {
                    product_id: product.product_id.clone(),
                    title: product.title.clone(),
                    category: product.category.clone(),
                    sales: s,
                    engagement: e,
                });
            }
            Ok(Performance {
                buyer_regions: f.units_by_buyer_region(&scope, w)?,
                score: score((s, e), &peers),
                product_id: product.product_id,
                title: product.title,
                category: product.category,
                period,
                window: w.into(),
                views: e.views,
                likes: e.likes,
                shares: e.shares,
                search_clicks: e.clicks,
                orders: s.orders,
                units_sold: s.units,
                revenue: Money::inr(s.revenue),
                conversion: conversion(s, e),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(id: &str, views: i64, orders: i64, revenue: i64, likes: i64) -> ProductFigures {
        ProductFigures {
            product_id: id.into(),
            title: String::new(),
            category: "pottery".into(),
            sales: Sales {
                orders,
                units: orders,
                revenue,
            },
            engagement: Engagement {
                views,
                likes,
                shares: 0,
                clicks: 0,
            },
        }
    }

    #[test]
    fn the_best_product_of_its_category_scores_one_hundred() {
        let peers = [
            figures("a", 100, 10, 50_000, 20),
            figures("b", 50, 1, 5_000, 1),
            figures("c", 10, 0, 0, 0),
            figures("d", 0, 0, 0, 0),
        ];
        let best = score((peers[0].sales, peers[0].engagement), &peers);
        assert_eq!(best.value, 100.0);
        assert_eq!(best.compared_with, 4);
        let worst = score((peers[3].sales, peers[3].engagement), &peers);
        // At or below itself: d alone on views (1/4); on conversion, likes
        // per view and revenue c and d tie at zero (2/4).
        assert_eq!(
            worst.value,
            0.25 * 30.0 + 0.5 * 30.0 + 0.5 * 20.0 + 0.5 * 20.0
        );
    }
}
