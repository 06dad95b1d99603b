//! `POST /pricing/optimize`: for each product, a price from its category's
//! elasticity when the data identify one, else from the calculation rule
//! (its stored suggestion, or its market's median) — never an invented
//! elasticity.

use std::collections::BTreeMap;

use common::{Caller, Money};
use serde::Serialize;
use store::{Direction, Query};
use utoipa::ToSchema;

use super::elasticity::{self, Elasticity};
use super::listing::Listing;
use super::market::{Comparables, Market, Sale, week_of};
use super::{Pricing, Suggestion};
use crate::error::PricingError;

/// Weeks of a product's own sales its expected revenue is based on.
pub const UNITS_WEEKS: i64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A step along the identified elasticity.
    Elasticity,
    /// The elasticity is unidentifiable: the calculation rule's price.
    CalculateRule,
}

/// One product's optimisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Optimization {
    pub product_id: String,
    pub current_price: Money,
    pub suggested_price: Money,
    pub method: Method,
    /// How the suggested price was reached.
    pub basis: String,
    /// The category's elasticity (or why it is unidentifiable).
    pub elasticity: Elasticity,
    /// Expected change of units sold at the suggested price, in basis
    /// points, with its interval from the elasticity's (absent without an
    /// elasticity).
    pub expected_demand_change_bps: Option<i64>,
    pub demand_change_low_bps: Option<i64>,
    pub demand_change_high_bps: Option<i64>,
    pub expected_revenue_change_bps: Option<i64>,
    /// The product's units per week over the last twelve weeks.
    pub weekly_units: f64,
    pub weekly_revenue: Money,
    pub expected_weekly_revenue: Option<Money>,
}

impl Pricing {
    /// Optimise `ids` for `caller`: every product must be one they may
    /// price (checked for all before any work).
    pub async fn optimize(
        &self,
        caller: &Caller,
        ids: &[String],
    ) -> Result<Vec<Optimization>, PricingError> {
        let mut listings = Vec::with_capacity(ids.len());
        for id in ids {
            listings.push((id.clone(), self.listing_for(caller, id).await?));
        }
        let mut by_category: BTreeMap<String, Vec<Sale>> = BTreeMap::new();
        for (_, l) in &listings {
            if !by_category.contains_key(&l.category) {
                let sales = self.recent_sales(&l.category).await?;
                by_category.insert(l.category.clone(), sales);
            }
        }
        let mut fallbacks = Vec::with_capacity(listings.len());
        for (id, l) in &listings {
            fallbacks.push(self.fallback(id, l).await?);
        }
        let this_week = week_of(common::time::now());
        // Fitting is a few thousand logs per category: off the async workers.
        tokio::task::spawn_blocking(move || {
            let fits: BTreeMap<&str, Elasticity> = by_category
                .iter()
                .map(|(c, s)| (c.as_str(), elasticity::fit(s)))
                .collect();
            listings
                .iter()
                .zip(fallbacks)
                .map(|((id, l), fallback)| {
                    let sales = &by_category[&l.category];
                    let fit = fits[l.category.as_str()].clone();
                    optimise_one(id, l, fit, sales, fallback, this_week)
                })
                .collect()
        })
        .await
        .map_err(|e| PricingError::Internal(e.to_string()))
    }

    /// The category's most recent sales, at most `elasticity_sales`.
    async fn recent_sales(&self, category: &str) -> Result<Vec<Sale>, PricingError> {
        let q = Query::new()
            .eq("category", category)
            .order_by("at_micros", Direction::Desc);
        let sales = self
            .store
            .collection::<Sale>()
            .query_up_to(&q, self.settings.elasticity_sales)
            .await?;
        Ok(sales.into_iter().map(|s| s.value).collect())
    }

    /// The calculation rule's price for `l` and how it was reached: its
    /// stored suggestion (with its floor), else its market's median.
    async fn fallback(&self, id: &str, l: &Listing) -> Result<Fallback, PricingError> {
        let stored = self.store.collection::<Suggestion>().get(id).await?;
        let floor = stored.as_ref().and_then(|s| s.value.floor);
        if let Some(s) = stored
            .as_ref()
            .and_then(|s| s.value.suggested.map(|p| (p, &s.value)))
        {
            return Ok(Fallback {
                price: s.0,
                floor,
                basis: format!(
                    "the last suggestion ({}, {})",
                    s.1.method,
                    s.1.at.date_naive()
                ),
            });
        }
        let markets = self.store.collection::<Market>();
        for region in [l.region_key(), None] {
            let Some(m) = markets
                .get(&Market::id(&l.category, region.as_deref()))
                .await?
            else {
                continue;
            };
            if let Some(c) = Comparables::of(&m.value)
                .filter(|c| c.sales >= self.settings.min_comparables as usize)
            {
                return Ok(Fallback {
                    price: c.median,
                    floor,
                    basis: format!("the median of {} comparable sales", c.sales),
                });
            }
        }
        Ok(Fallback {
            price: l.price,
            floor,
            basis: "no suggestion and too few comparable sales: the current price".into(),
        })
    }
}

struct Fallback {
    price: Money,
    floor: Option<Money>,
    basis: String,
}

fn optimise_one(
    id: &str,
    l: &Listing,
    fit: Elasticity,
    sales: &[Sale],
    fallback: Fallback,
    this_week: i64,
) -> Optimization {
    let current = l.price;
    let units = elasticity::weekly_units(sales, id, this_week, UNITS_WEEKS);
    let revenue =
        |price: i64, factor: f64| Money::inr(super::stats::round(price as f64 * units * factor));
    let mut o = Optimization {
        product_id: id.to_owned(),
        current_price: current,
        suggested_price: fallback.price,
        method: Method::CalculateRule,
        basis: fallback.basis,
        expected_demand_change_bps: None,
        demand_change_low_bps: None,
        demand_change_high_bps: None,
        expected_revenue_change_bps: None,
        weekly_units: units,
        weekly_revenue: revenue(current.amount, 1.0),
        expected_weekly_revenue: None,
        elasticity: fit,
    };
    let (Some(step), Some(e), Some(low), Some(high)) = (
        elasticity::step_bps(&o.elasticity),
        o.elasticity.estimate,
        o.elasticity.low,
        o.elasticity.high,
    ) else {
        return o;
    };
    let stepped =
        i64::try_from(i128::from(current.amount) * i128::from(step) / 10_000).unwrap_or(i64::MAX);
    let floor = fallback.floor.map_or(1, |f| f.amount);
    let price = stepped.max(floor);
    let ratio = price as f64 / current.amount.max(1) as f64;
    // A dearer price sells fewer with the more negative elasticity: the
    // interval's ends swap when the price falls.
    let (a, b) = (
        elasticity::change_bps(ratio, low),
        elasticity::change_bps(ratio, high),
    );
    o.method = Method::Elasticity;
    o.suggested_price = Money::inr(price);
    o.basis = match step.cmp(&10_000) {
        std::cmp::Ordering::Less => {
            "demand is elastic over the whole interval: a step down raises revenue"
        }
        std::cmp::Ordering::Greater => {
            "demand is inelastic over the whole interval: a step up raises revenue"
        }
        std::cmp::Ordering::Equal => {
            "the interval spans −1: revenue hardly moves with price; keep it"
        }
    }
    .to_owned();
    if price > stepped {
        o.basis.push_str(" (held at the fair-wage floor)");
    }
    o.expected_demand_change_bps = Some(elasticity::change_bps(ratio, e));
    o.demand_change_low_bps = Some(a.min(b));
    o.demand_change_high_bps = Some(a.max(b));
    o.expected_revenue_change_bps = Some(elasticity::change_bps(ratio, 1.0 + e));
    o.expected_weekly_revenue = Some(revenue(price, ratio.powf(e)));
    o
}
