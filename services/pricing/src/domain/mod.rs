//! What the pricing service knows and decides, without HTTP.

pub mod analysis;
pub mod consumer;
pub mod elasticity;
pub mod listing;
pub mod market;
pub mod ml;
pub mod optimize;
pub mod quote;
pub mod stats;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::{Caller, Money};
use events::Publisher;
use events::v1::PriceSuggested;
use serde::{Deserialize, Serialize};
use store::{Entity, Store, Txn};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::error::PricingError;
use listing::Listing;
use market::{Comparables, Market};
use ml::PricePredictor;
use quote::{Costs, MlEvidence, Quote, Strategy};

/// The last price suggested for a product; its id is the product's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Suggestion {
    /// Absent when there was too little evidence to suggest one.
    pub suggested: Option<Money>,
    pub low: Option<Money>,
    pub high: Option<Money>,
    /// The fair-wage floor, when costs were known.
    pub floor: Option<Money>,
    /// `calculate:<strategy>`, or `initial:<basis>` for the suggestion made
    /// when the product was listed.
    pub method: String,
    pub confidence: Option<f64>,
    pub at: DateTime<Utc>,
    /// Who asked (absent for the initial suggestion).
    pub requested_by: Option<String>,
}

impl Entity for Suggestion {
    const COLLECTION: &'static str = "suggestions";
}

impl Suggestion {
    fn event(&self, product_id: &str) -> PriceSuggested {
        PriceSuggested {
            product_id: product_id.to_owned(),
            suggested: self.suggested.map(Into::into),
            low: self.low.map(Into::into),
            high: self.high.map(Into::into),
            method: self.method.clone(),
        }
    }
}

/// The service's rules with what they read and write.
pub struct Pricing {
    pub settings: Settings,
    pub store: Store,
    pub publisher: Publisher,
    pub predictor: Arc<dyn PricePredictor>,
}

/// The markets a product's comparables come from, narrowest first.
fn markets_of(category: &str, region: Option<&str>) -> Vec<(&'static str, String)> {
    let mut m = Vec::with_capacity(2);
    if region.is_some() {
        m.push(("region", Market::id(category, region)));
    }
    m.push(("category", Market::id(category, None)));
    m
}

impl Pricing {
    /// The comparables of `category` in `region`: the region's market when
    /// it has enough sales, else the whole category's (absent without any
    /// sales). Read outside any transaction: a suggestion depends on the
    /// market as it was read, and sales arriving meanwhile must not make
    /// it fail.
    pub async fn comparables(
        &self,
        category: &str,
        region: Option<&str>,
    ) -> Result<Option<(&'static str, Comparables)>, PricingError> {
        let markets = self.store.collection::<Market>();
        let mut best = None;
        for (label, id) in markets_of(category, region) {
            if let Some(c) = markets
                .get(&id)
                .await?
                .and_then(|m| Comparables::of(&m.value))
            {
                if c.sales >= self.settings.min_comparables as usize {
                    return Ok(Some((label, c)));
                }
                best = best.or(Some((label, c)));
            }
        }
        Ok(best)
    }

    /// The listing of `product_id` if `caller` may price it: 404 unknown,
    /// 403 someone else's.
    pub async fn listing_for(
        &self,
        caller: &Caller,
        product_id: &str,
    ) -> Result<Listing, PricingError> {
        let listing = self
            .store
            .collection::<Listing>()
            .get(product_id)
            .await?
            .filter(|l| l.value.status != "deleted")
            .ok_or_else(|| PricingError::UnknownProduct(product_id.to_owned()))?;
        if !listing.value.may_price(caller) {
            return Err(PricingError::NotYours);
        }
        Ok(listing.value)
    }

    /// Price `product_id` for `caller` from its `costs`, store the
    /// suggestion and publish it.
    pub async fn calculate(
        &self,
        caller: &Caller,
        product_id: &str,
        costs: &Costs,
    ) -> Result<Quote, PricingError> {
        let listing = self.listing_for(caller, product_id).await?;
        let region = listing.region_key();
        let request = ml::PredictPrice {
            product_id: product_id.to_owned(),
            category: listing.category.clone(),
            subcategory: listing.subcategory.clone(),
            region: listing.region.clone(),
            materials: listing.materials.clone(),
            production_time_days: listing.production_time_days,
            labor_hours: costs.labour_minutes as f64 / 60.0,
            artisan_skill_level: costs.skill,
        };
        let ml = ml::evidence(self.predictor.as_ref(), &request).await;
        let comparables = self
            .comparables(&listing.category, region.as_deref())
            .await?;
        let q = quote::quote(
            &self.settings,
            product_id,
            costs,
            region.as_deref(),
            comparables,
            &ml,
        );
        let uid = caller.uid.clone();
        self.store
            .transact(async |tx: &mut Txn| {
                let s = Suggestion {
                    suggested: Some(q.suggested_price),
                    low: Some(q.price_range.minimum),
                    high: Some(q.price_range.premium),
                    floor: Some(q.fair_wage_floor.floor),
                    method: format!("calculate:{}", q.pricing_strategy.as_str()),
                    confidence: Some(q.confidence),
                    at: common::time::now(),
                    requested_by: Some(uid.clone()),
                };
                tx.set(product_id, &s)?;
                self.publisher.emit(tx, product_id, &s.event(product_id))?;
                Ok::<_, PricingError>(())
            })
            .await?;
        Ok(q)
    }

    /// The suggestion made when a product is listed: from the fair wage for
    /// its production days (a working day each) and its market's
    /// comparables, when either is known; otherwise a suggestion that says
    /// there is too little evidence.
    pub async fn initial(
        &self,
        tx: &mut Txn,
        product_id: &str,
        listing: &Listing,
        at: DateTime<Utc>,
    ) -> Result<(), PricingError> {
        let region = listing.region_key();
        let comparables = self
            .comparables(&listing.category, region.as_deref())
            .await?;
        let enough = comparables.filter(|(_, c)| c.sales >= self.settings.min_comparables as usize);
        let days = listing.production_time_days.filter(|d| *d > 0);
        let s = match (days, enough) {
            (Some(days), _) => {
                let costs = Costs {
                    base: 0,
                    materials: Vec::new(),
                    labour_minutes: i64::from(days)
                        * i64::from(self.settings.wages.hours_per_day)
                        * 60,
                    skill: 1,
                    urgency: quote::Urgency::Low,
                };
                let none = MlEvidence::Unavailable("not asked when listing".into());
                let q = quote::quote(
                    &self.settings,
                    product_id,
                    &costs,
                    region.as_deref(),
                    comparables,
                    &none,
                );
                let basis = if q.pricing_strategy == Strategy::CostPlus {
                    "fair_wage"
                } else {
                    "fair_wage_and_comparables"
                };
                Suggestion {
                    suggested: Some(q.suggested_price),
                    low: Some(q.price_range.minimum),
                    high: Some(q.price_range.premium),
                    floor: Some(q.fair_wage_floor.floor),
                    method: format!("initial:{basis}"),
                    confidence: Some(q.confidence),
                    at,
                    requested_by: None,
                }
            }
            (None, Some((_, c))) => Suggestion {
                suggested: Some(c.median),
                low: Some(c.p25),
                high: Some(c.p75),
                floor: None,
                method: "initial:comparables".into(),
                confidence: None,
                at,
                requested_by: None,
            },
            (None, None) => Suggestion {
                suggested: None,
                low: None,
                high: None,
                floor: None,
                method: "initial:insufficient_evidence".into(),
                confidence: None,
                at,
                requested_by: None,
            },
        };
        tx.set(product_id, &s)?;
        self.publisher.emit(tx, product_id, &s.event(product_id))?;
        Ok(())
    }

    /// The stored suggestion of `product_id`, if `caller` may price it.
    pub async fn suggestion(
        &self,
        caller: &Caller,
        product_id: &str,
    ) -> Result<Suggestion, PricingError> {
        self.listing_for(caller, product_id).await?;
        self.store
            .collection::<Suggestion>()
            .get(product_id)
            .await?
            .map(|s| s.value)
            .ok_or_else(|| PricingError::NoSuggestion(product_id.to_owned()))
    }

    /// The analysis of `category` (in `region`, if given).
    pub async fn analysis(
        &self,
        category: &str,
        region: Option<&str>,
    ) -> Result<analysis::Analysis, PricingError> {
        let region = listing::region_key(region);
        let market = self
            .store
            .collection::<Market>()
            .get(&Market::id(category, region.as_deref()))
            .await?
            .map_or_else(|| Market::new(category, region.as_deref()), |m| m.value);
        let min = self.settings.min_comparables;
        // A few hundred prices to sort and a few hundred buckets: off the
        // async workers all the same.
        tokio::task::spawn_blocking(move || analysis::analyse(&market, common::time::now(), min))
            .await
            .map_err(|e| PricingError::Internal(e.to_string()))
    }
}
