//! `GET /pricing/market-analysis/{category}`: the figures of one market and
//! the recommendations that follow from them, each naming its figure.

use chrono::{DateTime, Utc};
use common::Money;
use serde::Serialize;
use utoipa::ToSchema;

use super::market::{Market, month_of, week_of};
use super::stats::{self, ols, quantile, two_decimals};

/// Weeks of the recent demand figure (the four complete weeks before this
/// one).
pub const RECENT_WEEKS: i64 = 4;
/// Weeks of the demand baseline (the year before the recent weeks).
pub const BASELINE_WEEKS: i64 = 52;
/// Baseline weeks needed before demand is called high or low.
pub const MIN_BASELINE_WEEKS: i64 = 8;
/// The trend windows, in weeks ending with this one.
pub const TREND_WINDOWS: [i64; 2] = [13, 52];
/// Demand at least this many times its baseline is high; at most
/// [`LOW_DEMAND`], low.
pub const HIGH_DEMAND: f64 = 1.25;
pub const LOW_DEMAND: f64 = 0.8;

/// A market's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Analysis {
    pub category: String,
    /// The region asked for, as a grouping key; absent for all regions.
    pub region: Option<String>,
    /// Completed sales ever counted in this market.
    pub sales: u64,
    /// Of the most recent sales (absent without sales).
    pub prices: Option<PriceSummary>,
    pub trend: Vec<Trend>,
    pub demand: Demand,
    pub seasonality: Seasonality,
    pub recommendations: Vec<Recommendation>,
    pub as_of: DateTime<Utc>,
}

/// Order statistics of the unit prices of the most recent sales.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriceSummary {
    /// How many recent sales these figures are of (at most 500).
    pub sales_used: usize,
    pub average: Money,
    pub median: Money,
    /// The quartiles (linear interpolation between order statistics).
    pub p25: Money,
    pub p75: Money,
    pub minimum: Money,
    pub maximum: Money,
    /// The interquartile range as a share of the median, in basis points.
    pub spread_bps: i64,
}

/// The slope of the weekly average unit price over a window, by least
/// squares, with its 95% interval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trend {
    pub window_weeks: i64,
    /// Weeks in the window with sales (three are needed for a slope).
    pub weeks_with_sales: usize,
    pub direction: Direction,
    /// The change per 30 days of the weekly average price.
    pub slope_per_30_days: Option<Money>,
    pub slope_low: Option<Money>,
    pub slope_high: Option<Money>,
    /// The slope as a share of the window's average price, in basis points.
    pub change_per_30_days_bps: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The interval lies above zero.
    Rising,
    /// The interval lies below zero.
    Falling,
    /// The interval includes zero.
    Flat,
    /// Fewer than three weeks with sales.
    Unknown,
}

/// Orders per week lately against the year before.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Demand {
    pub recent_weeks: i64,
    pub recent_orders_per_week: f64,
    /// Weeks of the baseline since the market's first sale (at most 52).
    pub baseline_weeks: i64,
    pub baseline_orders_per_week: Option<f64>,
    /// Recent ÷ baseline.
    pub ratio: Option<f64>,
    pub level: DemandLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DemandLevel {
    High,
    Normal,
    Low,
    /// Fewer than eight weeks of baseline.
    InsufficientHistory,
}

/// Orders by calendar month, and each month against the average month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Seasonality {
    pub status: SeasonalityStatus,
    /// Complete months after the first sale's month, to the last month.
    pub months_observed: i64,
    pub months: Vec<MonthFigure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeasonalityStatus {
    /// Twelve complete months or more.
    Measured,
    InsufficientHistory,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthFigure {
    /// 1 (January) to 12.
    pub month: u32,
    pub orders: u64,
    /// The month's average orders over the average month's (when
    /// measured): 1.3 is 30% busier than usual.
    pub index: Option<f64>,
}

/// Advice and the figure it follows from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recommendation {
    pub text: String,
    /// Where in this answer the figure is (`demand.ratio`, …).
    pub figure: String,
    /// The figure's value, as shown in the text.
    pub value: String,
}

/// Analyse `market` as of `now`.
pub fn analyse(market: &Market, now: DateTime<Utc>, min_comparables: u32) -> Analysis {
    let prices = summary(market);
    let trend = TREND_WINDOWS
        .iter()
        .map(|w| trend(market, now, *w))
        .collect();
    let demand = demand(market, now);
    let seasonality = seasonality(market, now);
    let mut a = Analysis {
        category: market.category.clone(),
        region: market.region.clone(),
        sales: market.sales,
        prices,
        trend,
        demand,
        seasonality,
        recommendations: Vec::new(),
        as_of: now,
    };
    a.recommendations = recommend(&a, now, min_comparables);
    a
}

fn summary(market: &Market) -> Option<PriceSummary> {
    let sorted = market.sorted_prices();
    let n = sorted.len();
    let at = |q| quantile(&sorted, q).map(stats::round);
    let median = at(0.5)?;
    let (p25, p75) = (at(0.25)?, at(0.75)?);
    let total: i128 = sorted.iter().map(|p| i128::from(*p)).sum();
    let average = i64::try_from((total + n as i128 / 2) / n as i128).unwrap_or(i64::MAX);
    Some(PriceSummary {
        sales_used: n,
        average: Money::inr(average),
        median: Money::inr(median),
        p25: Money::inr(p25),
        p75: Money::inr(p75),
        minimum: Money::inr(sorted[0]),
        maximum: Money::inr(sorted[n - 1]),
        spread_bps: if median > 0 {
            stats::round((p75 - p25) as f64 * 10_000.0 / median as f64)
        } else {
            0
        },
    })
}

fn trend(market: &Market, now: DateTime<Utc>, window: i64) -> Trend {
    let this_week = week_of(now);
    let points: Vec<(f64, f64)> = market
        .weeks
        .range(this_week - window + 1..=this_week)
        .filter(|(_, b)| b.units > 0)
        .map(|(w, b)| ((w - this_week) as f64, b.revenue as f64 / b.units as f64))
        .collect();
    let mut t = Trend {
        window_weeks: window,
        weeks_with_sales: points.len(),
        direction: Direction::Unknown,
        slope_per_30_days: None,
        slope_low: None,
        slope_high: None,
        change_per_30_days_bps: None,
    };
    let Some(fit) = ols(&points) else {
        return t;
    };
    let per_30 = |per_week: f64| Money::inr(stats::round(per_week * 30.0 / 7.0));
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    t.direction = if fit.low > 0.0 {
        Direction::Rising
    } else if fit.high < 0.0 {
        Direction::Falling
    } else {
        Direction::Flat
    };
    t.slope_per_30_days = Some(per_30(fit.slope));
    t.slope_low = Some(per_30(fit.low));
    t.slope_high = Some(per_30(fit.high));
    t.change_per_30_days_bps =
        (mean > 0.0).then(|| stats::round(fit.slope * 30.0 / 7.0 / mean * 10_000.0));
    t
}

fn demand(market: &Market, now: DateTime<Utc>) -> Demand {
    let this_week = week_of(now);
    let orders =
        |from: i64, to: i64| -> u64 { market.weeks.range(from..=to).map(|(_, b)| b.orders).sum() };
    let recent_from = this_week - RECENT_WEEKS;
    let recent = orders(recent_from, this_week - 1) as f64 / RECENT_WEEKS as f64;
    let first = market.first_at.map_or(this_week, week_of);
    let baseline_from = (recent_from - BASELINE_WEEKS).max(first);
    let baseline_weeks = (recent_from - baseline_from).max(0);
    let baseline = (baseline_weeks > 0)
        .then(|| orders(baseline_from, recent_from - 1) as f64 / baseline_weeks as f64);
    let ratio = baseline.filter(|b| *b > 0.0).map(|b| recent / b);
    let level = match ratio {
        _ if baseline_weeks < MIN_BASELINE_WEEKS => DemandLevel::InsufficientHistory,
        None => DemandLevel::InsufficientHistory,
        Some(r) if r >= HIGH_DEMAND => DemandLevel::High,
        Some(r) if r <= LOW_DEMAND => DemandLevel::Low,
        Some(_) => DemandLevel::Normal,
    };
    Demand {
        recent_weeks: RECENT_WEEKS,
        recent_orders_per_week: two_decimals(recent),
        baseline_weeks,
        baseline_orders_per_week: baseline.map(two_decimals),
        ratio: ratio.map(two_decimals),
        level,
    }
}

fn seasonality(market: &Market, now: DateTime<Utc>) -> Seasonality {
    // Complete months only: from the month after the first sale's (or the
    // oldest month kept, if later) to the last month.
    let last = month_of(now) - 1;
    let kept = market.months.first_key_value().map(|(m, _)| *m);
    let first = match (market.first_at, kept) {
        (Some(f), Some(k)) => (month_of(f) + 1).max(k),
        _ => last + 1,
    };
    let observed = (last - first + 1).max(0);
    let in_span = market.months.range(first..=last);
    let mut orders = [0u64; 12];
    let mut occurrences = [0u64; 12];
    for (m, b) in in_span {
        orders[m.rem_euclid(12) as usize] += b.orders;
    }
    for m in first..=last {
        occurrences[m.rem_euclid(12) as usize] += 1;
    }
    let measured = observed >= 12;
    let total: u64 = orders.iter().sum();
    let mean_month = total as f64 / observed.max(1) as f64;
    let months = (0..12)
        .map(|i| MonthFigure {
            month: i as u32 + 1,
            orders: orders[i],
            index: (measured && mean_month > 0.0 && occurrences[i] > 0)
                .then(|| two_decimals(orders[i] as f64 / occurrences[i] as f64 / mean_month)),
        })
        .collect();
    Seasonality {
        status: if measured {
            SeasonalityStatus::Measured
        } else {
            SeasonalityStatus::InsufficientHistory
        },
        months_observed: observed,
        months,
    }
}

fn recommend(a: &Analysis, now: DateTime<Utc>, min_comparables: u32) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let mut say = |text: String, figure: &str, value: String| {
        out.push(Recommendation {
            text,
            figure: figure.to_owned(),
            value,
        });
    };
    let used = a.prices.as_ref().map_or(0, |p| p.sales_used);
    if used < min_comparables as usize {
        say(
            format!(
                "Only {used} sales so far: the price figures are a first indication, and \
                 calculations lean on costs and the fair wage until {min_comparables} are known."
            ),
            "prices.sales_used",
            used.to_string(),
        );
    }
    if let (Some(r), Some(p)) = (a.demand.ratio, &a.prices) {
        match a.demand.level {
            DemandLevel::High => say(
                format!(
                    "Orders run at {r:.2}× their usual weekly rate: there is room to price toward \
                     the upper quartile ({}).",
                    p.p75
                ),
                "demand.ratio",
                format!("{r:.2}"),
            ),
            DemandLevel::Low => say(
                format!(
                    "Orders run at {r:.2}× their usual weekly rate: hold prices rather than raise \
                     them, and check the listings' photos and descriptions."
                ),
                "demand.ratio",
                format!("{r:.2}"),
            ),
            _ => {}
        }
    }
    if let Some((i, t)) = a
        .trend
        .iter()
        .enumerate()
        .find(|(_, t)| matches!(t.direction, Direction::Rising | Direction::Falling))
    {
        let bps = t.change_per_30_days_bps.unwrap_or(0);
        let pct = format!("{:.1}%", bps as f64 / 100.0);
        let text = if t.direction == Direction::Rising {
            format!(
                "Prices have risen by about {pct} a month over {} weeks: review listed prices \
                 against the median.",
                t.window_weeks
            )
        } else {
            format!(
                "Prices have fallen by about {pct} a month over {} weeks: compete on quality and \
                 story rather than follow the price below the fair-wage floor.",
                t.window_weeks
            )
        };
        say(
            text,
            &format!("trend[{i}].change_per_30_days_bps"),
            bps.to_string(),
        );
    }
    if let Some(p) = a.prices.as_ref().filter(|p| p.spread_bps >= 5_000) {
        say(
            format!(
                "Prices spread widely (the middle half spans {:.0}% of the median): quality and \
                 provenance set prices here more than the category does.",
                p.spread_bps as f64 / 100.0
            ),
            "prices.spread_bps",
            p.spread_bps.to_string(),
        );
    }
    let next = (month_of(now) + 1).rem_euclid(12) as usize;
    if let Some(idx) = a.seasonality.months[next].index {
        let name = common::time::MONTH_NAMES[next];
        if idx >= HIGH_DEMAND {
            say(
                format!(
                    "{name} is usually busy ({idx:.2}× an average month): list stock before it."
                ),
                &format!("seasonality.months[{next}].index"),
                format!("{idx:.2}"),
            );
        } else if idx <= LOW_DEMAND {
            say(
                format!(
                    "{name} is usually quiet ({idx:.2}× an average month): plan stock lightly."
                ),
                &format!("seasonality.months[{next}].index"),
                format!("{idx:.2}"),
            );
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::market::Sale;

    fn sale(at: DateTime<Utc>) -> Sale {
        Sale {
            product_id: "p".into(),
            category: "pottery".into(),
            subcategory: String::new(),
            region: None,
            quantity: 1,
            unit_price: 100_000,
            at,
            at_micros: at.timestamp_micros(),
        }
    }

    #[test]
    fn demand_doubled_over_its_baseline_is_high_and_a_busy_december_shows() {
        // Now: 17 November 2027. Two years of one order a week, two a week
        // in each December and in the last four weeks.
        let now = Utc.with_ymd_and_hms(2027, 11, 17, 12, 0, 0).unwrap();
        let mut m = Market::new("pottery", None);
        let mut at = now - Duration::weeks(104);
        while at < now - Duration::days(1) {
            m.record(&sale(at));
            let december = at.format("%m").to_string() == "12";
            if december || at > now - Duration::weeks(5) {
                m.record(&sale(at + Duration::hours(1)));
            }
            at += Duration::weeks(1);
        }
        let a = analyse(&m, now, 5);
        assert_eq!(a.demand.recent_orders_per_week, 2.0);
        assert_eq!(a.demand.baseline_weeks, 52);
        assert_eq!(a.demand.level, DemandLevel::High);
        assert!(a.demand.ratio.unwrap() >= 1.7, "{:?}", a.demand);
        assert_eq!(a.seasonality.status, SeasonalityStatus::Measured);
        let december = &a.seasonality.months[11];
        let june = &a.seasonality.months[5];
        assert!(december.index.unwrap() > 1.6, "{december:?}");
        assert!(june.index.unwrap() < 1.0, "{june:?}");
        // Next month is December: busy, and the advice names its figure.
        assert!(
            a.recommendations
                .iter()
                .any(|r| r.figure == "seasonality.months[11].index"),
            "{:?}",
            a.recommendations
        );
        assert!(a.recommendations.iter().any(|r| r.figure == "demand.ratio"));
        // A flat price: the trend is flat, not rising or falling.
        assert_eq!(a.trend[1].direction, Direction::Flat);
    }
}
