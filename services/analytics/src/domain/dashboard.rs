//! Dashboards: an artisan's sales, conversion, products, the searches that
//! found them, their markets, seasons and prices; a buyer's orders, spend,
//! favourite categories and likes. Every figure of a period is shown with
//! the same figure of the period before it.

use common::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::period::{Period, Span, now, seasons};
use super::trends::{CategoryTrend, Seasonal, category_trend, enough_sellers, seasonal};
use super::{Analytics, change_pct, round4};
use crate::error::AnalyticsError;
use crate::facts::{
    Count, Engagement, FactError, FactStore, ProductFigures, QueryFigures, Sales, Scope,
    StoredProduct, StoredSuggestion,
};

/// Who a dashboard is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    Artisan,
    Buyer,
}

/// A figure of the period, the one before, and the change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Compared<T> {
    pub value: T,
    pub previous: T,
    /// Percent; absent when the previous period had nothing to compare.
    pub change_pct: Option<f64>,
}

/// An artisan's headline figures.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArtisanMetrics {
    /// Total of the orders placed in the period that were paid and not
    /// cancelled.
    pub revenue: Compared<Money>,
    pub orders: Compared<i64>,
    pub units: Compared<i64>,
    /// Revenue ÷ orders; zero without orders.
    pub average_order_value: Compared<Money>,
    /// Orders ÷ product views; absent without views.
    pub conversion: Compared<Option<f64>>,
    pub views: Compared<i64>,
}

/// What a price suggestion means for a listed product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PriceAdvice {
    pub product_id: String,
    pub title: String,
    pub price: Option<Money>,
    pub suggested: Money,
    pub low: Money,
    pub high: Money,
    /// How the pricing service arrived at it.
    pub method: String,
    /// `raise`, `lower` or `keep`: the price against the suggested range.
    pub advice: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArtisanDashboard {
    pub user_id: String,
    pub user_type: UserType,
    pub period: Period,
    pub window: Span,
    pub metrics: ArtisanMetrics,
    pub top_products: Vec<ProductFigures>,
    /// The search queries that showed, opened and sold their products.
    pub search_terms: Vec<QueryFigures>,
    /// Each of their categories' market, this period against the last,
    /// where enough artisans sold in both to keep each one's sales hidden
    /// (`market_min_sellers`).
    pub market_trends: Vec<CategoryTrend>,
    /// Each of their categories' seasons, where enough artisans sold in
    /// the three years.
    pub seasonal_insights: Vec<CategorySeasons>,
    /// The pricing service's latest suggestion for their listed products.
    pub pricing_recommendations: Vec<PriceAdvice>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategorySeasons {
    pub category: String,
    pub seasons: Seasonal,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyerDashboard {
    pub user_id: String,
    pub user_type: UserType,
    pub period: Period,
    pub window: Span,
    pub orders: Compared<i64>,
    pub spend: Compared<Money>,
    /// Categories of their orders in the period, the most first.
    pub favourite_categories: Vec<Count>,
    /// Products they like now, the latest first.
    pub liked_products: Vec<StoredProduct>,
}

/// One or the other dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Dashboard {
    Artisan(Box<ArtisanDashboard>),
    Buyer(Box<BuyerDashboard>),
}

fn compared_i(now: i64, before: i64) -> Compared<i64> {
    Compared {
        value: now,
        previous: before,
        change_pct: change_pct(now as f64, before as f64),
    }
}

fn compared_money(now: i64, before: i64) -> Compared<Money> {
    Compared {
        value: Money::inr(now),
        previous: Money::inr(before),
        change_pct: change_pct(now as f64, before as f64),
    }
}

/// Revenue ÷ orders, rounded half up to the paisa.
pub fn average_order_value(s: Sales) -> i64 {
    if s.orders == 0 {
        0
    } else {
        (2 * s.revenue + s.orders) / (2 * s.orders)
    }
}

/// Orders ÷ views.
pub fn conversion(s: Sales, e: Engagement) -> Option<f64> {
    (e.views > 0).then(|| round4(s.orders as f64 / e.views as f64))
}

fn metrics(now: (Sales, Engagement), before: (Sales, Engagement)) -> ArtisanMetrics {
    let (s, e) = now;
    let (ps, pe) = before;
    let (c, pc) = (conversion(s, e), conversion(ps, pe));
    ArtisanMetrics {
        revenue: compared_money(s.revenue, ps.revenue),
        orders: compared_i(s.orders, ps.orders),
        units: compared_i(s.units, ps.units),
        average_order_value: compared_money(average_order_value(s), average_order_value(ps)),
        conversion: Compared {
            value: c,
            previous: pc,
            change_pct: match (c, pc) {
                (Some(a), Some(b)) => change_pct(a, b),
                _ => None,
            },
        },
        views: compared_i(e.views, pe.views),
    }
}

fn advice(s: &StoredSuggestion) -> PriceAdvice {
    let advice = match s.price {
        Some(p) if p < s.low => "raise",
        Some(p) if p > s.high => "lower",
        _ => "keep",
    };
    PriceAdvice {
        product_id: s.product_id.clone(),
        title: s.title.clone(),
        price: s.price.map(Money::inr),
        suggested: Money::inr(s.suggested),
        low: Money::inr(s.low),
        high: Money::inr(s.high),
        method: s.method.clone(),
        advice: advice.to_owned(),
    }
}

fn artisan(
    f: &dyn FactStore,
    user_id: &str,
    period: Period,
    now: i64,
    min_sellers: u32,
) -> Result<ArtisanDashboard, FactError> {
    let w = period.window(now);
    let scope = Scope::Artisan(user_id.to_owned());
    let current = (f.sales(&scope, w)?, f.engagement(&scope, w)?);
    let previous = (
        f.sales(&scope, w.previous())?,
        f.engagement(&scope, w.previous())?,
    );
    let categories = f.artisan_categories(user_id)?;
    let mut market_trends = Vec::new();
    let mut seasonal_insights = Vec::new();
    for category in categories.iter().take(5) {
        market_trends.extend(category_trend(f, category, w, min_sellers)?);
        let scope = Scope::Market {
            category: category.clone(),
            region: None,
        };
        if !enough_sellers(f, &scope, &[seasons(now)], min_sellers)? {
            continue;
        }
        seasonal_insights.push(CategorySeasons {
            category: category.clone(),
            seasons: seasonal(
                f,
                &scope,
                now,
                format!("units of {category} sold by month of the year over the last three years"),
            )?,
        });
    }
    Ok(ArtisanDashboard {
        user_id: user_id.to_owned(),
        user_type: UserType::Artisan,
        period,
        window: w.into(),
        metrics: metrics(current, previous),
        top_products: f.top_products(user_id, w, 10)?,
        search_terms: f.search_queries(user_id, w, 20)?,
        market_trends,
        seasonal_insights,
        pricing_recommendations: f.suggestions(user_id, 20)?.iter().map(advice).collect(),
    })
}

fn buyer(
    f: &dyn FactStore,
    user_id: &str,
    period: Period,
    now: i64,
) -> Result<BuyerDashboard, FactError> {
    let w = period.window(now);
    let scope = Scope::Buyer(user_id.to_owned());
    let s = f.sales(&scope, w)?;
    let ps = f.sales(&scope, w.previous())?;
    Ok(BuyerDashboard {
        user_id: user_id.to_owned(),
        user_type: UserType::Buyer,
        period,
        window: w.into(),
        orders: compared_i(s.orders, ps.orders),
        spend: compared_money(s.revenue, ps.revenue),
        favourite_categories: f.buyer_categories(user_id, w)?,
        liked_products: f.liked_products(user_id, 20)?,
    })
}

impl Analytics {
    /// `GET /analytics/dashboard/{user_id}` (the caller is checked by the
    /// route with [`super::may_see`]).
    pub async fn dashboard(
        &self,
        user_id: String,
        user_type: UserType,
        period: Period,
    ) -> Result<Dashboard, AnalyticsError> {
        let now = now();
        let min_sellers = self.settings.market_min_sellers;
        self.facts(move |f| {
            Ok(match user_type {
                UserType::Artisan => {
                    Dashboard::Artisan(Box::new(artisan(f, &user_id, period, now, min_sellers)?))
                }
                UserType::Buyer => Dashboard::Buyer(Box::new(buyer(f, &user_id, period, now)?)),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_order_value_rounds_half_up_to_the_paisa() {
        let s = |orders, revenue| Sales {
            orders,
            units: orders,
            revenue,
        };
        assert_eq!(average_order_value(s(3, 1000)), 333);
        assert_eq!(average_order_value(s(2, 1001)), 501);
        assert_eq!(average_order_value(s(0, 0)), 0);
    }
}
