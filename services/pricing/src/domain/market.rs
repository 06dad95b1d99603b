//! Market facts: each completed sale once, and per category (and per
//! region within it) a summary kept up to date in the same transaction as
//! the sale, so that an analysis reads one document however many sales
//! there were.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Datelike, Utc};
use common::Money;
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec};

/// The most recent sales whose prices a market summary keeps: the median,
/// quartiles and average are of these (older prices say less about today).
pub const RECENT: usize = 500;
/// Weeks of order counts kept (three years).
pub const WEEKS_KEPT: i64 = 156;
/// Months of order counts kept (ten years), for seasonality.
pub const MONTHS_KEPT: i64 = 120;

/// One completed sale; its id is the order's, so an order counts once
/// however often its events arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sale {
    pub product_id: String,
    pub category: String,
    pub subcategory: String,
    /// Region key (`None` when the product had none).
    pub region: Option<String>,
    pub quantity: u32,
    /// The price of one unit, in paise.
    pub unit_price: i64,
    pub at: DateTime<Utc>,
    /// `at` in µs, the order of the elasticity query.
    pub at_micros: i64,
}

impl Entity for Sale {
    const COLLECTION: &'static str = "sales";
}

/// The indexes the service's queries need.
pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Sale::COLLECTION,
        &[("category", Direction::Asc), ("at_micros", Direction::Desc)],
    )]
}

/// Orders, units and revenue in a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub orders: u64,
    pub units: u64,
    /// Paise.
    pub revenue: i64,
}

/// The running summary of one market: a category in one region, or in all
/// of them. Its id is [`Market::id`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Market {
    pub category: String,
    /// Region key; `None` for the whole category.
    pub region: Option<String>,
    pub sales: u64,
    /// Unit prices of the most recent [`RECENT`] sales, oldest first.
    pub recent: VecDeque<i64>,
    /// By week ([`week_of`]).
    pub weeks: BTreeMap<i64, Bucket>,
    /// By month ([`month_of`]).
    pub months: BTreeMap<i64, Bucket>,
    /// The earliest sale seen (µs), kept when its buckets are dropped.
    pub first_at: Option<DateTime<Utc>>,
}

impl Entity for Market {
    const COLLECTION: &'static str = "markets";
}

impl Market {
    /// `<category>|<region key>`, or `<category>|*` for all regions (each
    /// part made safe for an id: [`common::catalogue::key_part`]).
    pub fn id(category: &str, region: Option<&str>) -> String {
        let region = region.map_or_else(|| "*".to_owned(), common::catalogue::key_part);
        format!("{}|{region}", common::catalogue::key_part(category))
    }

    pub fn new(category: &str, region: Option<&str>) -> Self {
        Self {
            category: category.to_owned(),
            region: region.map(str::to_owned),
            ..Self::default()
        }
    }

    /// Count `sale` in.
    pub fn record(&mut self, sale: &Sale) {
        self.sales += 1;
        self.recent.push_back(sale.unit_price);
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
        let revenue = sale
            .unit_price
            .saturating_mul(i64::from(sale.quantity.max(1)));
        for (buckets, key, kept) in [
            (&mut self.weeks, week_of(sale.at), WEEKS_KEPT),
            (&mut self.months, month_of(sale.at), MONTHS_KEPT),
        ] {
            let b = buckets.entry(key).or_default();
            b.orders += 1;
            b.units += u64::from(sale.quantity.max(1));
            b.revenue = b.revenue.saturating_add(revenue);
            if let Some((&last, _)) = buckets.last_key_value() {
                *buckets = buckets.split_off(&(last - kept + 1));
            }
        }
        self.first_at = Some(self.first_at.map_or(sale.at, |f| f.min(sale.at)));
    }

    /// Recent prices, sorted.
    pub fn sorted_prices(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.recent.iter().copied().collect();
        v.sort_unstable();
        v
    }
}

/// Weeks since the Monday before 1970-01-01 (weeks start on Monday).
pub fn week_of(at: DateTime<Utc>) -> i64 {
    (at.timestamp().div_euclid(86_400) + 3).div_euclid(7)
}

/// Months since year 0: `year × 12 + month − 1`.
pub fn month_of(at: DateTime<Utc>) -> i64 {
    i64::from(at.year()) * 12 + i64::from(at.month0())
}

/// Comparable sales of a market, as the calculation uses them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparables {
    pub sales: usize,
    pub median: Money,
    pub p25: Money,
    pub p75: Money,
}

impl Comparables {
    /// The order statistics of `market`'s recent prices; `None` without
    /// sales.
    pub fn of(market: &Market) -> Option<Self> {
        let prices = market.sorted_prices();
        let at = |q| super::stats::quantile(&prices, q).map(|p| Money::inr(super::stats::round(p)));
        Some(Self {
            sales: prices.len(),
            median: at(0.5)?,
            p25: at(0.25)?,
            p75: at(0.75)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sale(price: i64, at: DateTime<Utc>) -> Sale {
        Sale {
            product_id: "p".into(),
            category: "pottery".into(),
            subcategory: String::new(),
            region: None,
            quantity: 2,
            unit_price: price,
            at,
            at_micros: at.timestamp_micros(),
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        let sunday = Utc.with_ymd_and_hms(2026, 11, 29, 23, 0, 0).unwrap();
        let monday = Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap();
        assert_eq!(week_of(monday), week_of(sunday) + 1);
        assert_eq!(month_of(monday), 2026 * 12 + 10);
    }

    #[test]
    fn a_market_keeps_bounded_history() {
        let start = Utc.with_ymd_and_hms(2020, 1, 6, 12, 0, 0).unwrap();
        let mut m = Market::new("pottery", None);
        for i in 0..(RECENT as i64 + 300) {
            m.record(&sale(1_000 + i, start + chrono::Duration::days(i * 3)));
        }
        assert_eq!(m.recent.len(), RECENT);
        assert_eq!(m.recent.front(), Some(&1_300));
        assert!(m.weeks.len() as i64 <= WEEKS_KEPT);
        assert!(m.months.len() as i64 <= MONTHS_KEPT);
        let (last, _) = m.weeks.last_key_value().unwrap();
        let (first, _) = m.weeks.first_key_value().unwrap();
        assert!(last - first < WEEKS_KEPT);
        assert_eq!(m.first_at, Some(start));
        assert_eq!(m.sales, RECENT as u64 + 300);
        let b = m.weeks[last];
        assert_eq!(b.units, 2 * b.orders);
    }
}
