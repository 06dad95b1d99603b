//! The calculation rule: a fair-wage floor under cost-plus, moved by
//! comparable sales and the ML prediction in proportion to their evidence,
//! never below the floor.
//!
//! 1. **Floor** = base cost + materials + labour hours × the region's
//!    hourly fair wage × the skill multiplier (rounded up to the paisa).
//! 2. **Cost-plus** = floor × (1 + margin) × (1 + urgency).
//! 3. **Blend**: the weighted mean of cost-plus (weight 1), the median of
//!    comparable sales (weight `min(n, 40) / 20` when at least
//!    `min_comparables` are known) and the ML prediction (weight ½ when it
//!    answers).
//! 4. **Suggested** = the blend, raised to the floor if below it, rounded
//!    up to a whole rupee.
//! 5. **Range**: minimum = the floor or the lowest evidence (lower
//!    quartile, ML low) if higher, optimal = suggested, premium = the
//!    highest evidence (upper quartile, ML high), or a quarter above the
//!    suggestion without evidence; each at least the one before.
//! 6. **Confidence** = evidence × agreement: evidence is 0.4 for known
//!    costs, plus 0.4 × n/(n + 10) for n comparables, plus 0.2 with the ML
//!    prediction; agreement is 1/(1 + 2·cv), cv the coefficient of variation of the
//!    estimates blended.
//! 7. **Strategy**: `cost_plus` without comparables; `premium_positioning`
//!    when the floor itself is above the upper quartile; `premium` at or
//!    above it; `competitive` at or below the lower quartile;
//!    `market_aligned` between.

use common::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::market::Comparables;
use super::stats::two_decimals;
use crate::config::{FairWages, Settings, Wage};

/// How soon the piece is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Medium,
    High,
}

/// What the artisan says the piece costs them.
#[derive(Debug, Clone, PartialEq)]
pub struct Costs {
    /// Paise: overheads, tools, packaging.
    pub base: i64,
    /// Paise each.
    pub materials: Vec<i64>,
    /// Minutes of work.
    pub labour_minutes: i64,
    /// 1–5.
    pub skill: u8,
    pub urgency: Urgency,
}

/// The ML service's prediction, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum MlEvidence {
    Predicted {
        price: Money,
        low: Money,
        high: Money,
    },
    Unavailable(String),
}

/// The fair-wage floor and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Floor {
    /// Costs + fair wage: no suggestion goes below it.
    pub floor: Money,
    /// Base cost and materials.
    pub costs: Money,
    /// The fair wage for the hours.
    pub wage: Money,
    pub labor_hours: f64,
    pub hourly_wage: Money,
    pub daily_wage: Money,
    pub hours_per_day: u32,
    pub skill_level: u8,
    /// The skill multiplier, in basis points of the day's wage.
    pub skill_bps: u32,
    /// The wage region matched (absent: the default).
    pub wage_region: Option<String>,
    /// Where the day's wage comes from.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PriceRange {
    pub minimum: Money,
    pub optimal: Money,
    pub premium: Money,
}

/// One thing that moved the price, and by how much.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Factor {
    pub name: String,
    /// What it added (or, negative, took away) on the way to the
    /// suggestion; the effects add up to it.
    pub effect: Money,
    pub evidence: String,
}

/// The comparable sales considered.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ComparablesView {
    /// `used`, `too_few` or `none`.
    pub status: String,
    /// `region` or `category`: the market they come from.
    pub market: Option<String>,
    pub sales: usize,
    pub median: Option<Money>,
    pub p25: Option<Money>,
    pub p75: Option<Money>,
}

/// The ML service's prediction as used.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MlView {
    /// `used` or `unavailable`.
    pub status: String,
    pub reason: Option<String>,
    pub price: Option<Money>,
    pub low: Option<Money>,
    pub high: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    CostPlus,
    PremiumPositioning,
    Premium,
    Competitive,
    MarketAligned,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CostPlus => "cost_plus",
            Self::PremiumPositioning => "premium_positioning",
            Self::Premium => "premium",
            Self::Competitive => "competitive",
            Self::MarketAligned => "market_aligned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConfidenceParts {
    pub evidence: f64,
    pub agreement: f64,
}

/// A calculated price, explained.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Quote {
    pub product_id: String,
    pub suggested_price: Money,
    pub price_range: PriceRange,
    pub fair_wage_floor: Floor,
    pub market_factors: Vec<Factor>,
    pub comparables: ComparablesView,
    pub ml_prediction: MlView,
    /// 0–1: evidence × agreement.
    pub confidence: f64,
    pub confidence_parts: ConfidenceParts,
    pub pricing_strategy: Strategy,
}

/// The day's wage for `region` (a key, [`super::listing::region_key`]):
/// the first configured region named in it, else the default.
pub fn wage_for<'w>(wages: &'w FairWages, region: Option<&str>) -> (Option<&'w str>, &'w Wage) {
    region
        .and_then(|r| {
            wages.regions.iter().find(|(key, _)| {
                r.split(|c: char| !c.is_alphanumeric() && c != ' ')
                    .any(|part| part.trim() == key.as_str())
                    || r == key.as_str()
            })
        })
        .map_or((None, &wages.default), |(k, w)| (Some(k.as_str()), w))
}

fn ceil_div(n: i128, d: i128) -> i64 {
    i64::try_from((n + d - 1).div_euclid(d)).unwrap_or(i64::MAX)
}

/// Round up to a whole rupee.
fn whole_rupee(paise: i64) -> i64 {
    ceil_div(i128::from(paise), 100) * 100
}

/// The floor for `costs` in `region`.
pub fn floor(wages: &FairWages, costs: &Costs, region: Option<&str>) -> Floor {
    let (matched, wage) = wage_for(wages, region);
    let skill = costs.skill.clamp(1, 5);
    let skill_bps = wages.skill_bps[usize::from(skill - 1)];
    let per_day = i128::from(wages.hours_per_day) * 60 * 10_000;
    let paid = ceil_div(
        i128::from(wage.daily) * i128::from(costs.labour_minutes) * i128::from(skill_bps),
        per_day,
    );
    let hourly = ceil_div(
        i128::from(wage.daily) * i128::from(skill_bps),
        i128::from(wages.hours_per_day) * 10_000,
    );
    let spent = costs
        .materials
        .iter()
        .fold(costs.base, |sum, m| sum.saturating_add(*m));
    Floor {
        floor: Money::inr(spent.saturating_add(paid)),
        costs: Money::inr(spent),
        wage: Money::inr(paid),
        labor_hours: two_decimals(costs.labour_minutes as f64 / 60.0),
        hourly_wage: Money::inr(hourly),
        daily_wage: Money::inr(wage.daily),
        hours_per_day: wages.hours_per_day,
        skill_level: skill,
        skill_bps,
        wage_region: matched.map(str::to_owned),
        source: wage.source.clone(),
    }
}

/// Price `product_id` by the rule above.
pub fn quote(
    settings: &Settings,
    product_id: &str,
    costs: &Costs,
    region: Option<&str>,
    comparables: Option<(&str, Comparables)>,
    ml: &MlEvidence,
) -> Quote {
    let f = floor(&settings.wages, costs, region);
    let urgency_bps = match costs.urgency {
        Urgency::Low => settings.urgency_bps.low,
        Urgency::Medium => settings.urgency_bps.medium,
        Urgency::High => settings.urgency_bps.high,
    };
    let with_margin = ceil_div(
        i128::from(f.floor.amount) * (10_000 + i128::from(settings.margin_bps)),
        10_000,
    );
    let cost_plus = ceil_div(
        i128::from(with_margin) * (10_000 + i128::from(urgency_bps)),
        10_000,
    );
    let mut factors = vec![
        Factor {
            name: "costs".into(),
            effect: f.costs,
            evidence: format!(
                "base cost and {} materials as stated",
                costs.materials.len()
            ),
        },
        Factor {
            name: "fair_wage".into(),
            effect: f.wage,
            evidence: format!(
                "{} hours at {} an hour (skill level {}: {}% of the day's wage {} for {} hours; {})",
                f.labor_hours,
                f.hourly_wage,
                f.skill_level,
                f.skill_bps / 100,
                f.daily_wage,
                f.hours_per_day,
                f.source
            ),
        },
        Factor {
            name: "margin".into(),
            effect: Money::inr(with_margin - f.floor.amount),
            evidence: format!("{}% over costs and wage", settings.margin_bps / 100),
        },
    ];
    if urgency_bps > 0 {
        factors.push(Factor {
            name: "urgency".into(),
            effect: Money::inr(cost_plus - with_margin),
            evidence: format!("{:?} urgency: {}%", costs.urgency, urgency_bps / 100).to_lowercase(),
        });
    }

    // Blend the estimates, one at a time, so each one's effect is shown.
    let mut estimates: Vec<(f64, f64)> = vec![(cost_plus as f64, 1.0)];
    let blend = |e: &[(f64, f64)]| {
        let w: f64 = e.iter().map(|x| x.1).sum();
        e.iter().map(|x| x.0 * x.1).sum::<f64>() / w
    };
    let mut current = cost_plus as f64;
    let mut view = ComparablesView {
        status: "none".into(),
        market: None,
        sales: 0,
        median: None,
        p25: None,
        p75: None,
    };
    let used = comparables.filter(|(_, c)| c.sales >= settings.min_comparables as usize);
    if let Some((market, c)) = comparables {
        view = ComparablesView {
            status: if used.is_some() { "used" } else { "too_few" }.into(),
            market: Some(market.to_owned()),
            sales: c.sales,
            median: Some(c.median),
            p25: Some(c.p25),
            p75: Some(c.p75),
        };
    }
    if let Some((market, c)) = used {
        estimates.push((c.median.amount as f64, c.sales.min(40) as f64 / 20.0));
        let next = blend(&estimates);
        factors.push(Factor {
            name: "comparable_sales".into(),
            effect: Money::inr((next - current).round() as i64),
            evidence: format!(
                "median {} of {} recent sales in the {market} market (quartiles {} – {})",
                c.median, c.sales, c.p25, c.p75
            ),
        });
        current = next;
    }
    let ml_view = match ml {
        MlEvidence::Predicted { price, low, high } => {
            estimates.push((price.amount as f64, 0.5));
            let next = blend(&estimates);
            factors.push(Factor {
                name: "ml_prediction".into(),
                effect: Money::inr((next - current).round() as i64),
                evidence: format!("predicted {price} (interval {low} – {high})"),
            });
            current = next;
            MlView {
                status: "used".into(),
                reason: None,
                price: Some(*price),
                low: Some(*low),
                high: Some(*high),
            }
        }
        MlEvidence::Unavailable(reason) => MlView {
            status: "unavailable".into(),
            reason: Some(reason.clone()),
            price: None,
            low: None,
            high: None,
        },
    };
    let blended = current.round() as i64;
    let raised = blended.max(f.floor.amount);
    if raised > blended {
        factors.push(Factor {
            name: "fair_wage_floor".into(),
            effect: Money::inr(raised - blended),
            evidence: format!("raised to the floor {}", f.floor),
        });
    }
    let suggested = whole_rupee(raised);
    let accounted: i64 = factors.iter().map(|x| x.effect.amount).sum();
    if suggested != accounted {
        factors.push(Factor {
            name: "rounding".into(),
            effect: Money::inr(suggested - accounted),
            evidence: "to a whole rupee".into(),
        });
    }

    let lows = used
        .map(|(_, c)| c.p25.amount)
        .into_iter()
        .chain(ml_view.low.map(|m| m.amount));
    let highs = used
        .map(|(_, c)| c.p75.amount)
        .into_iter()
        .chain(ml_view.high.map(|m| m.amount));
    let minimum = lows
        .min()
        .map_or(f.floor.amount, |l| l.max(f.floor.amount))
        .min(suggested);
    let premium = highs
        .max()
        .unwrap_or_else(|| ceil_div(i128::from(suggested) * 125, 100))
        .max(suggested);

    let evidence = 0.4
        + used.map_or(0.0, |(_, c)| 0.4 * c.sales as f64 / (c.sales as f64 + 10.0))
        + if ml_view.price.is_some() { 0.2 } else { 0.0 };
    let mean = estimates.iter().map(|e| e.0).sum::<f64>() / estimates.len() as f64;
    let sd = (estimates.iter().map(|e| (e.0 - mean).powi(2)).sum::<f64>() / estimates.len() as f64)
        .sqrt();
    let agreement = if mean > 0.0 {
        1.0 / (1.0 + 2.0 * sd / mean)
    } else {
        1.0
    };
    let strategy = match used {
        None => Strategy::CostPlus,
        Some((_, c)) if f.floor.amount > c.p75.amount => Strategy::PremiumPositioning,
        Some((_, c)) if suggested >= c.p75.amount => Strategy::Premium,
        Some((_, c)) if suggested <= c.p25.amount => Strategy::Competitive,
        Some(_) => Strategy::MarketAligned,
    };
    Quote {
        product_id: product_id.to_owned(),
        suggested_price: Money::inr(suggested),
        price_range: PriceRange {
            minimum: Money::inr(whole_rupee(minimum).min(suggested)),
            optimal: Money::inr(suggested),
            premium: Money::inr(whole_rupee(premium)),
        },
        fair_wage_floor: f,
        market_factors: factors,
        comparables: view,
        ml_prediction: ml_view,
        confidence: two_decimals(evidence * agreement),
        confidence_parts: ConfidenceParts {
            evidence: two_decimals(evidence),
            agreement: two_decimals(agreement),
        },
        pricing_strategy: strategy,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn costs(base: i64, materials: Vec<i64>, minutes: i64, skill: u8) -> Costs {
        Costs {
            base,
            materials,
            labour_minutes: minutes,
            skill,
            urgency: Urgency::Low,
        }
    }

    #[test]
    fn the_floor_is_costs_and_the_regional_wage_for_the_hours() {
        let s = Settings::default();
        // Rajasthan: ₹285 a day of 8 hours; skill 3 is 125%: 10 hours →
        // 28,500 × 600 × 12,500 / (8 × 60 × 10,000) = 44,531.25 → 44,532.
        let f = floor(
            &s.wages,
            &costs(10_000, vec![20_000, 5_000], 600, 3),
            Some("jaipur, rajasthan"),
        );
        assert_eq!(f.wage, Money::inr(44_532));
        assert_eq!(f.costs, Money::inr(35_000));
        assert_eq!(f.floor, Money::inr(79_532));
        assert_eq!(f.wage_region.as_deref(), Some("rajasthan"));
        assert_eq!(f.hourly_wage, Money::inr(4_454));
        // Unknown region: the default (₹783).
        let f = floor(&s.wages, &costs(0, vec![], 480, 1), Some("atlantis"));
        assert_eq!((f.wage, f.wage_region), (Money::inr(78_300), None));
    }

    #[test]
    fn comparables_move_the_price_by_their_weight_and_are_shown() {
        let s = Settings::default();
        let c = Comparables {
            sales: 20,
            median: Money::inr(300_000),
            p25: Money::inr(250_000),
            p75: Money::inr(350_000),
        };
        let none = MlEvidence::Unavailable("down".into());
        // Floor ₹1,000; cost-plus ₹1,200; twenty sales weigh as much as
        // cost-plus: (1,200 + 3,000) / 2 = ₹2,100.
        let q = quote(
            &s,
            "p",
            &costs(100_000, vec![], 0, 1),
            None,
            Some(("category", c)),
            &none,
        );
        assert_eq!(q.suggested_price, Money::inr(210_000));
        assert_eq!(q.pricing_strategy, super::Strategy::Competitive);
        assert_eq!(q.price_range.minimum, Money::inr(210_000));
        assert_eq!(q.price_range.premium, Money::inr(350_000));
        let sum: i64 = q.market_factors.iter().map(|f| f.effect.amount).sum();
        assert_eq!(sum, q.suggested_price.amount);
        assert_eq!(q.ml_prediction.status, "unavailable");
        // Too few: shown, not used.
        let few = Comparables { sales: 4, ..c };
        let q = quote(
            &s,
            "p",
            &costs(100_000, vec![], 0, 1),
            None,
            Some(("region", few)),
            &none,
        );
        assert_eq!(q.suggested_price, Money::inr(120_000));
        assert_eq!(q.comparables.status, "too_few");
        assert_eq!(q.pricing_strategy, super::Strategy::CostPlus);
    }

    proptest! {
        #[test]
        fn no_suggestion_or_minimum_goes_below_the_floor(
            base in 0i64..1_000_000_000,
            materials in proptest::collection::vec(0i64..1_000_000_000, 0..50),
            minutes in 0i64..600_000,
            skill in 1u8..=5,
            urgency in prop_oneof![Just(Urgency::Low), Just(Urgency::Medium), Just(Urgency::High)],
            region in prop_oneof![Just(None), Just(Some("rajasthan")), Just(Some("kerala"))],
            median in 1i64..1_000_000_000,
            sales in 0usize..600,
            ml in proptest::option::of((1i64..1_000_000_000, 1i64..1_000_000_000)),
        ) {
            let s = Settings::default();
            let c = Costs { base, materials, labour_minutes: minutes, skill, urgency };
            let comparables = Comparables {
                sales,
                median: Money::inr(median),
                p25: Money::inr(median / 2),
                p75: Money::inr(median.saturating_mul(2)),
            };
            let ml = match ml {
                Some((a, b)) => MlEvidence::Predicted {
                    price: Money::inr(a.max(b)),
                    low: Money::inr(a.min(b)),
                    high: Money::inr(a.max(b)),
                },
                None => MlEvidence::Unavailable("none".into()),
            };
            let q = quote(&s, "p", &c, region, Some(("region", comparables)), &ml);
            let floor = q.fair_wage_floor.floor.amount;
            prop_assert!(floor >= q.fair_wage_floor.costs.amount);
            prop_assert!(q.suggested_price.amount >= floor);
            prop_assert!(q.price_range.minimum.amount >= floor);
            prop_assert!(q.price_range.minimum.amount <= q.price_range.optimal.amount);
            prop_assert!(q.price_range.optimal.amount <= q.price_range.premium.amount);
            prop_assert!((0.0..=1.0).contains(&q.confidence));
            let sum: i64 = q.market_factors.iter().map(|f| f.effect.amount).sum();
            prop_assert_eq!(sum, q.suggested_price.amount);
        }
    }
}
