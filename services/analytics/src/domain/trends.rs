//! Market trends of a category (and region): prices, demand, popular
//! styles and seasons, from sales (orders paid and not cancelled), each
//! recommendation naming the figure it follows from.

use common::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::period::{Period, Span, seasons};
use super::{Analytics, change_pct, round1};
use crate::error::AnalyticsError;
use crate::facts::{Bucket, FactError, FactStore, Grain, Scope, Window};

/// One week of a market.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Week {
    /// Monday, UTC (RFC 3339 date).
    pub week_start: String,
    pub orders: i64,
    pub units: i64,
    /// Revenue ÷ units; absent in a week without sales.
    pub mean_unit_price: Option<Money>,
}

/// Prices: the median of the period against the one before, and the
/// weekly direction.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PriceTrend {
    pub median_unit_price: Option<Money>,
    pub previous_median_unit_price: Option<Money>,
    /// Percent; absent without a previous median.
    pub change_pct: Option<f64>,
    /// Least-squares slope of the weekly mean unit price over the whole
    /// weeks of the period, as a percent of its mean per week; absent under
    /// four weeks with sales.
    pub slope_pct_per_week: Option<f64>,
}

/// Demand: units sold in the period against the one before.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DemandTrend {
    pub units: i64,
    pub previous_units: i64,
    pub orders: i64,
    pub change_pct: Option<f64>,
    /// Least-squares slope of weekly units over the whole weeks of the
    /// period, units per week; absent under four weeks.
    pub slope_units_per_week: Option<f64>,
}

/// A style (an ML tag of the photos of sold products) and the share of
/// all units sold whose product carries it (a product has several tags).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Style {
    pub tag: String,
    pub units: i64,
    pub share: f64,
}

/// A month of the year's sales against the average month.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MonthFigure {
    /// 1–12.
    pub month: u32,
    pub units: i64,
    /// Units ÷ the mean over the twelve months (1.0 is an average month).
    pub index: f64,
}

/// Seasons over the last three years.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Seasonal {
    pub basis: String,
    pub months: Vec<MonthFigure>,
    /// Months at least 20% above average, strongest first.
    pub peak_months: Vec<u32>,
    /// Whether sales span a year at least (fewer: one good month looks like
    /// a season).
    pub enough_history: bool,
}

/// Advice, with the figure it follows from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Recommendation {
    pub text: String,
    /// The answer's field the advice reads (`demand.change_pct`, ...).
    pub figure: String,
    pub value: f64,
}

/// `GET /analytics/market-trends`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MarketTrends {
    pub category: String,
    pub region: Option<String>,
    pub time_period: Period,
    pub window: Span,
    pub price: PriceTrend,
    pub demand: DemandTrend,
    pub weekly: Vec<Week>,
    pub popular_styles: Vec<Style>,
    pub seasonal: Seasonal,
    pub recommendations: Vec<Recommendation>,
}

/// A category's trend in brief, for an artisan's dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryTrend {
    pub category: String,
    pub price: PriceTrend,
    pub demand: DemandTrend,
}

/// The least-squares slope of the points `(x, y)`; `None` under four.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 4 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in points {
        sxy += (x - mean_x) * (y - mean_y);
        sxx += (x - mean_x) * (x - mean_x);
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

fn inr(paise: i64) -> Money {
    Money::inr(paise)
}

fn date(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

/// Every week of `w` (Monday starts), with the sales `buckets` has.
fn weeks(buckets: &[Bucket], w: Window) -> Vec<Week> {
    let first = w.from - (w.from + 259_200).rem_euclid(604_800);
    let mut out = Vec::new();
    let mut start = first;
    while start < w.to {
        let s = buckets
            .iter()
            .find(|b| b.key == start)
            .map(|b| b.sales)
            .unwrap_or_default();
        out.push(Week {
            week_start: date(start),
            orders: s.orders,
            units: s.units,
            mean_unit_price: (s.units > 0).then(|| inr(s.revenue / s.units)),
        });
        start += 604_800;
    }
    out
}

fn price_and_demand(
    f: &dyn FactStore,
    scope: &Scope,
    w: Window,
) -> Result<(PriceTrend, DemandTrend, Vec<Week>), FactError> {
    let median = f.median_unit_price(scope, w)?;
    let previous_median = f.median_unit_price(scope, w.previous())?;
    let now = f.sales(scope, w)?;
    let before = f.sales(scope, w.previous())?;
    let weekly = weeks(&f.sales_over_time(scope, w, Grain::Week)?, w);
    // Slopes over the weeks wholly inside the period (its first and last
    // are usually part-weeks), each at its own place in time.
    let first = w.from - (w.from + 259_200).rem_euclid(604_800);
    let whole: Vec<(f64, &Week)> = weekly
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let start = first + *i as i64 * 604_800;
            start >= w.from && start + 604_800 <= w.to
        })
        .map(|(i, week)| (i as f64, week))
        .collect();
    let prices: Vec<(f64, f64)> = whole
        .iter()
        .filter_map(|(i, w)| w.mean_unit_price.map(|m| (*i, m.amount as f64)))
        .collect();
    let mean_price = prices.iter().map(|p| p.1).sum::<f64>() / prices.len().max(1) as f64;
    let units: Vec<(f64, f64)> = whole.iter().map(|(i, w)| (*i, w.units as f64)).collect();
    let price = PriceTrend {
        median_unit_price: median.map(inr),
        previous_median_unit_price: previous_median.map(inr),
        change_pct: match (median, previous_median) {
            (Some(a), Some(b)) => change_pct(a as f64, b as f64),
            _ => None,
        },
        slope_pct_per_week: slope(&prices)
            .filter(|_| mean_price > 0.0)
            .map(|s| round1(s / mean_price * 100.0)),
    };
    let demand = DemandTrend {
        units: now.units,
        previous_units: before.units,
        orders: now.orders,
        change_pct: change_pct(now.units as f64, before.units as f64),
        slope_units_per_week: slope(&units).map(round1),
    };
    Ok((price, demand, weekly))
}

/// A scope's seasons over the last three years before `now`.
pub fn seasonal(
    f: &dyn FactStore,
    scope: &Scope,
    now: i64,
    basis: String,
) -> Result<Seasonal, FactError> {
    let w = seasons(now);
    let by_month = f.sales_by_month_of_year(scope, w)?;
    let total: i64 = by_month.iter().map(|b| b.sales.units).sum();
    let mean = total as f64 / 12.0;
    let months: Vec<MonthFigure> = (1..=12u32)
        .map(|m| {
            let units = by_month
                .iter()
                .find(|b| b.key == i64::from(m))
                .map_or(0, |b| b.sales.units);
            MonthFigure {
                month: m,
                units,
                index: if mean > 0.0 {
                    round1(units as f64 / mean * 10.0) / 10.0
                } else {
                    0.0
                },
            }
        })
        .collect();
    let mut peaks: Vec<&MonthFigure> = months.iter().filter(|m| m.index >= 1.2).collect();
    peaks.sort_by(|a, b| b.index.total_cmp(&a.index));
    let span = f.sales_over_time(scope, w, Grain::Month)?;
    let enough_history = match (span.first(), span.last()) {
        (Some(a), Some(b)) => b.key - a.key >= 334 * 86_400,
        _ => false,
    };
    Ok(Seasonal {
        basis,
        peak_months: peaks.iter().map(|m| m.month).collect(),
        months,
        enough_history,
    })
}

/// Whether no window of `windows` had some but fewer than `min` artisans
/// selling in `scope`: with fewer, a market's figures are one artisan's,
/// or two who can each take their own away. A window without sales shows
/// nobody's.
pub fn enough_sellers(
    f: &dyn FactStore,
    scope: &Scope,
    windows: &[Window],
    min: u32,
) -> Result<bool, FactError> {
    for w in windows {
        let n = f.sellers(scope, *w, min)?;
        if n > 0 && n < min {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A category's price and demand in brief, unless some but fewer than
/// `min_sellers` artisans sold in it in the period or the one before.
pub fn category_trend(
    f: &dyn FactStore,
    category: &str,
    w: Window,
    min_sellers: u32,
) -> Result<Option<CategoryTrend>, FactError> {
    let scope = Scope::Market {
        category: category.to_owned(),
        region: None,
    };
    if !enough_sellers(f, &scope, &[w, w.previous()], min_sellers)? {
        return Ok(None);
    }
    let (price, demand, _) = price_and_demand(f, &scope, w)?;
    Ok(Some(CategoryTrend {
        category: category.to_owned(),
        price,
        demand,
    }))
}

fn recommendations(
    price: &PriceTrend,
    demand: &DemandTrend,
    seasonal: &Seasonal,
    styles: &[Style],
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    if let Some(c) = demand.change_pct {
        let text = if c >= 10.0 {
            format!(
                "Demand is up {c}% on the previous period: keep stock ready and shorten production where you can."
            )
        } else if c <= -10.0 {
            format!(
                "Demand is down {}% on the previous period: refresh photos and titles, or offer a smaller piece.",
                -c
            )
        } else {
            format!("Demand is steady ({c:+}% on the previous period).")
        };
        out.push(Recommendation {
            text,
            figure: "demand.change_pct".into(),
            value: c,
        });
    }
    if let Some(c) = price.change_pct {
        if c >= 5.0 {
            out.push(Recommendation {
                text: format!("The median price rose {c}%: buyers are paying more, so check your price against it."),
                figure: "price.change_pct".into(),
                value: c,
            });
        } else if c <= -5.0 {
            out.push(Recommendation {
                text: format!("The median price fell {}%: compete on craft and story rather than price cuts below your fair-wage floor.", -c),
                figure: "price.change_pct".into(),
                value: c,
            });
        }
    }
    if let Some(top) = styles.first() {
        out.push(Recommendation {
            text: format!(
                "\"{}\" is the style sold most ({}% of the units sold carry it).",
                top.tag,
                round1(top.share * 100.0)
            ),
            figure: "popular_styles[0].share".into(),
            value: top.share,
        });
    }
    if seasonal.enough_history
        && let Some(m) = seasonal.peak_months.first()
        && let Some(f) = seasonal.months.iter().find(|f| f.month == *m)
    {
        out.push(Recommendation {
            text: format!(
                "{} sells {}× an average month: list new work a few weeks before.",
                month_name(*m),
                f.index
            ),
            figure: format!("seasonal.months[{}].index", m - 1),
            value: f.index,
        });
    }
    out
}

/// The English name of month `m` (1–12).
fn month_name(m: u32) -> &'static str {
    m.checked_sub(1)
        .and_then(|i| common::time::MONTH_NAMES.get(i as usize))
        .copied()
        .unwrap_or("?")
}

/// A market's trends at `now` (seconds); `None` if some but fewer than
/// `min_sellers` artisans sold in it in a window the answer covers (the
/// period, the one before, the three years of seasons), or, for a region,
/// in the rest of its category (which the category less the region shows).
pub fn market(
    f: &dyn FactStore,
    category: String,
    region: Option<String>,
    period: Period,
    now: i64,
    min_sellers: u32,
) -> Result<Option<MarketTrends>, FactError> {
    let w = period.window(now);
    let scope = Scope::Market {
        category: category.clone(),
        region: region.clone(),
    };
    let windows = [w, w.previous(), seasons(now)];
    if !enough_sellers(f, &scope, &windows, min_sellers)? {
        return Ok(None);
    }
    // The category less the region would show the rest's sales.
    if let Some(region) = &region {
        let rest = Scope::RestOfMarket {
            category: category.clone(),
            region: region.clone(),
        };
        if !enough_sellers(f, &rest, &windows, min_sellers)? {
            return Ok(None);
        }
    }
    let (price, demand, weekly) = price_and_demand(f, &scope, w)?;
    let tags = f.units_by_tag(&scope, w, 10)?;
    let popular_styles: Vec<Style> = tags
        .into_iter()
        .map(|t| Style {
            share: super::round4(t.count as f64 / demand.units.max(1) as f64),
            tag: t.name,
            units: t.count,
        })
        .collect();
    let seasonal = seasonal(
        f,
        &scope,
        now,
        format!("units of {category} sold by month of the year over the last three years"),
    )?;
    let recommendations = recommendations(&price, &demand, &seasonal, &popular_styles);
    Ok(Some(MarketTrends {
        category,
        region,
        time_period: period,
        window: w.into(),
        price,
        demand,
        weekly,
        popular_styles,
        seasonal,
        recommendations,
    }))
}

impl Analytics {
    /// `GET /analytics/market-trends`: 403 `too_few_sellers` for a
    /// market too small to show without showing one artisan.
    pub async fn market_trends(
        &self,
        category: String,
        region: Option<String>,
        period: Period,
    ) -> Result<MarketTrends, AnalyticsError> {
        let now = super::period::now();
        let min = self.settings.market_min_sellers;
        self.facts(move |f| market(f, category, region, period, now, min))
            .await?
            .ok_or(AnalyticsError::TooFewSellers(min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_is_its_gradient() {
        let line = |ys: &[f64]| -> Vec<(f64, f64)> {
            ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect()
        };
        assert_eq!(slope(&line(&[1.0, 3.0, 5.0, 7.0])), Some(2.0));
        assert_eq!(slope(&line(&[4.0, 4.0, 4.0, 4.0, 4.0])), Some(0.0));
        assert_eq!(slope(&line(&[1.0, 2.0, 3.0])), None);
        // Gaps keep their place in time.
        assert_eq!(
            slope(&[(0.0, 0.0), (1.0, 1.0), (5.0, 5.0), (6.0, 6.0)]),
            Some(1.0)
        );
    }

    #[test]
    fn weeks_cover_the_window_from_a_monday() {
        // 2026-01-07 (a Wednesday) to 2026-01-21.
        let w = Window {
            from: 1_767_744_000,
            to: 1_768_953_600,
        };
        let weeks = weeks(&[], w);
        assert_eq!(
            weeks.first().map(|w| w.week_start.as_str()),
            Some("2026-01-05")
        );
        assert_eq!(weeks.len(), 3);
    }
}
