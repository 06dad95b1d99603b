//! Price elasticity of demand, fitted on a category's sales: the slope of
//! log weekly units on log unit price within each product (a fixed effect
//! per product), one point per product and week with sales (weeks without
//! sales have no log and are left out). Reported only when the data
//! identify it — enough points, enough price variation, an interval below
//! zero; otherwise the reason.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::market::{Sale, week_of};
use super::stats::two_decimals;

/// Product-weeks needed for a fit.
pub const MIN_OBSERVATIONS: usize = 20;
/// The spread of log prices needed (about 5% price variation).
pub const MIN_LOG_PRICE_SD: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Identified,
    Unidentifiable,
}

/// An elasticity estimate, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Elasticity {
    pub status: Status,
    /// The fitted elasticity (−1.5: 1% dearer sells 1.5% fewer).
    pub estimate: Option<f64>,
    /// Its 95% interval.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Product-weeks fitted.
    pub observations: usize,
    /// Standard deviation of log unit price.
    pub log_price_sd: f64,
    /// Why it is unidentifiable.
    pub reason: Option<String>,
}

/// The product-week points `(ln price, ln units)` of `sales`, by product.
pub fn observations(sales: &[Sale]) -> BTreeMap<&str, Vec<(f64, f64)>> {
    let mut weeks: BTreeMap<(&str, i64), (u64, i128)> = BTreeMap::new();
    for s in sales {
        let units = u64::from(s.quantity.max(1));
        let e = weeks
            .entry((s.product_id.as_str(), week_of(s.at)))
            .or_default();
        e.0 += units;
        e.1 += i128::from(s.unit_price) * i128::from(units);
    }
    let mut by_product: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for ((product, _), (units, revenue)) in weeks {
        if units > 0 && revenue > 0 {
            let price = revenue as f64 / units as f64;
            by_product
                .entry(product)
                .or_default()
                .push((price.ln(), (units as f64).ln()));
        }
    }
    by_product
}

/// Fit the elasticity of `sales` with a fixed effect per product: each
/// product's points are taken about its own means, so that the slope
/// comes from how each product's sales move with its own price — not from
/// cheap products selling more than dear ones. Products with one
/// product-week say nothing and are left out.
pub fn fit(sales: &[Sale]) -> Elasticity {
    let mut points = Vec::new();
    let mut groups = 0usize;
    for own in observations(sales).values().filter(|p| p.len() >= 2) {
        let k = own.len() as f64;
        let (mx, my) = (
            own.iter().map(|p| p.0).sum::<f64>() / k,
            own.iter().map(|p| p.1).sum::<f64>() / k,
        );
        points.extend(own.iter().map(|(x, y)| (x - mx, y - my)));
        groups += 1;
    }
    let n = points.len();
    let sxx: f64 = points.iter().map(|p| p.0 * p.0).sum();
    let sd = (sxx / n.max(1) as f64).sqrt();
    let unidentifiable = |reason: String| Elasticity {
        status: Status::Unidentifiable,
        estimate: None,
        low: None,
        high: None,
        observations: n,
        log_price_sd: round3(sd),
        reason: Some(reason),
    };
    let df = n.saturating_sub(groups + 1);
    if n < MIN_OBSERVATIONS || df == 0 {
        return unidentifiable(format!(
            "too few sales: {n} product-weeks of products sold in two weeks or more, \
             {MIN_OBSERVATIONS} needed"
        ));
    }
    if sd < MIN_LOG_PRICE_SD {
        return unidentifiable(format!(
            "too little price variation: each product's price varied by about {:.1}% \
             (standard deviation of log price about its own mean), {:.0}% needed to tell \
             price from other causes",
            sd * 100.0,
            MIN_LOG_PRICE_SD * 100.0
        ));
    }
    let slope = points.iter().map(|p| p.0 * p.1).sum::<f64>() / sxx;
    let rss: f64 = points.iter().map(|p| (p.1 - slope * p.0).powi(2)).sum();
    let se = (rss / df as f64 / sxx).sqrt();
    let t = super::stats::t_975(df);
    let (low, high) = (slope - t * se, slope + t * se);
    if !(low.is_finite() && high.is_finite()) || high >= 0.0 {
        return unidentifiable(format!(
            "the data do not show demand falling with price: the 95% interval {low:.2} to \
             {high:.2} is not below zero"
        ));
    }
    Elasticity {
        status: Status::Identified,
        estimate: Some(round3(slope)),
        low: Some(round3(low)),
        high: Some(round3(high)),
        observations: n,
        log_price_sd: round3(sd),
        reason: None,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

/// The move a price makes on an identified elasticity: at most this share
/// per step, because the elasticity is only known near the prices sold at.
pub const STEP_BPS: i64 = 1_000;

/// Where an identified elasticity sends the price, as a multiplier in
/// basis points: down a step when demand is elastic over its whole
/// interval (revenue grows as price falls), up a step when inelastic over
/// it, unchanged when the interval spans −1.
pub fn step_bps(e: &Elasticity) -> Option<i64> {
    let (low, high) = (e.low?, e.high?);
    Some(if high < -1.0 {
        10_000 - STEP_BPS
    } else if low > -1.0 {
        10_000 + STEP_BPS
    } else {
        10_000
    })
}

/// The change of a quantity `price^exponent` when the price is multiplied
/// by `ratio`, in basis points.
pub fn change_bps(ratio: f64, exponent: f64) -> i64 {
    super::stats::round((ratio.powf(exponent) - 1.0) * 10_000.0)
}

/// Units per week of `product` over the `weeks` before this week — or
/// over fewer, when `sales` (the category's most recent) reach back less
/// far, so that a thin sample does not read as slow sales.
pub fn weekly_units(sales: &[Sale], product: &str, this_week: i64, weeks: i64) -> f64 {
    let oldest = sales
        .iter()
        .map(|s| week_of(s.at))
        .min()
        .unwrap_or(this_week);
    let covered = (this_week - oldest).clamp(1, weeks);
    let units: u64 = sales
        .iter()
        .filter(|s| s.product_id == product)
        .filter(|s| (this_week - covered..this_week).contains(&week_of(s.at)))
        .map(|s| u64::from(s.quantity.max(1)))
        .sum();
    two_decimals(units as f64 / covered as f64)
}
