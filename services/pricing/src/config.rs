//! The pricing service's own settings (`CRAFTCHAIN_PRICING_*`).
//!
//! The fair-wage figures are statutory minimum wages, per day, for the
//! lowest tier (unskilled); the skill level lifts them (see
//! [`FairWages::skill_bps`]). Each figure names its source, and the
//! answer of `POST /pricing/calculate` shows the figure and source it used,
//! so an artisan can check it. Override or add regions with
//! `CRAFTCHAIN_PRICING_WAGES__REGIONS__<REGION>__DAILY` (paise) and
//! `…__SOURCE`.

use std::collections::BTreeMap;

use common::SharedConfig;
use common::platform;
use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The ML service, asked for its price prediction.
    pub ml_url: Url,
    /// How long a calculation waits for the ML service's prediction before
    /// answering without it, in milliseconds.
    pub ml_timeout_ms: u64,
    /// The regional fair wages under every price.
    pub wages: FairWages,
    /// The margin on top of costs and the fair wage, in basis points
    /// (2,000 = 20%): the artisan's return on the craft beyond their hours.
    pub margin_bps: u16,
    /// What a rush order adds, in basis points of the cost-plus price.
    pub urgency_bps: UrgencyBps,
    /// Comparable sales needed before the market moves a price.
    pub min_comparables: u32,
    /// The most products one `POST /pricing/optimize` takes.
    pub max_optimize: usize,
    /// The most recent sales of a category an elasticity is fitted on.
    pub elasticity_sales: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ml_url: platform::ML.local_url(),
            ml_timeout_ms: 800,
            wages: FairWages::default(),
            margin_bps: 2_000,
            urgency_bps: UrgencyBps::default(),
            min_comparables: 5,
            max_optimize: 20,
            elasticity_sales: 5_000,
        }
    }
}

/// Basis points added for each urgency.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UrgencyBps {
    pub low: u16,
    pub medium: u16,
    pub high: u16,
}

impl Default for UrgencyBps {
    fn default() -> Self {
        Self {
            low: 0,
            medium: 500,
            high: 1_500,
        }
    }
}

/// A day's wage and where the figure comes from.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Wage {
    /// Paise per working day.
    pub daily: i64,
    /// The notification or publication the figure is taken from.
    pub source: String,
}

/// Fair wages by region.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FairWages {
    /// The hours of the working day the daily figures pay for.
    pub hours_per_day: u32,
    /// Where no region matches: the central-sphere rate, one of the highest
    /// statutory floors, so that an unknown region does not lower the floor.
    pub default: Wage,
    /// By region: the key is the state's name in lowercase, matched as a
    /// phrase within the product's region ("Jaipur, Rajasthan" →
    /// `rajasthan`).
    pub regions: BTreeMap<String, Wage>,
    /// Skill levels 1–5 as multipliers of the day's wage, in basis points:
    /// 1 is the statutory unskilled rate; the rest are the platform's
    /// policy, above the statutory semi-skilled, skilled and highly
    /// skilled tiers (which sit only 4–32% above unskilled), because a
    /// master craftsperson's hour is worth more than the law's minimum.
    pub skill_bps: [u32; 5],
}

impl Default for FairWages {
    fn default() -> Self {
        let wage = |daily, source: &str| Wage {
            daily,
            source: source.to_owned(),
        };
        Self {
            hours_per_day: 8,
            default: wage(
                78_300,
                "Central sphere minimum wage, unskilled, area A, ₹783 a day from 1 October 2024 \
                 (Chief Labour Commissioner (Central), Ministry of Labour and Employment)",
            ),
            regions: BTreeMap::from([
                (
                    "rajasthan".to_owned(),
                    wage(
                        28_500,
                        "Rajasthan minimum wage, unskilled, ₹285 a day from 1 July 2023 \
                         (Government of Rajasthan, Labour Department)",
                    ),
                ),
                (
                    "uttarakhand".to_owned(),
                    wage(
                        48_227,
                        "Uttarakhand minimum wage, unskilled, towns over one lakh, ₹12,539 a \
                         month over 26 working days (Government of Uttarakhand, Labour \
                         Department)",
                    ),
                ),
            ]),
            skill_bps: [10_000, 11_000, 12_500, 15_000, 20_000],
        }
    }
}

impl common::ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        let w = &self.wages;
        if !(1..=24).contains(&w.hours_per_day) {
            p.push("wages.hours_per_day must be 1 to 24".to_owned());
        }
        for (region, wage) in std::iter::once(("default", &w.default))
            .chain(w.regions.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if wage.daily <= 0 || wage.daily > 10_000_000 {
                p.push(format!(
                    "wages {region}: daily must be 1 to 10,000,000 paise"
                ));
            }
            if wage.source.trim().is_empty() {
                p.push(format!(
                    "wages {region}: say where the figure comes from (source)"
                ));
            }
            if region != common::catalogue::region_key(region) {
                p.push(format!(
                    "wages {region}: a region key is lowercase, single-spaced"
                ));
            }
        }
        if w.skill_bps.windows(2).any(|s| s[0] > s[1]) || w.skill_bps[0] < 10_000 {
            p.push("wages.skill_bps must rise from at least 10,000 (the day's wage)".to_owned());
        }
        if self.max_optimize == 0 || self.max_optimize > 100 {
            p.push("max_optimize must be 1 to 100".to_owned());
        }
        if self.elasticity_sales < 20 || self.elasticity_sales > 50_000 {
            p.push("elasticity_sales must be 20 to 50,000".to_owned());
        }
        p
    }
}
