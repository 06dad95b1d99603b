//! Facts: what the analytics service keeps of every domain event, and the
//! store they live in.
//!
//! Each event becomes one [`Ingest`]: its id (the key that makes a repeated
//! delivery count once), its type, subject and time, and the [`Fact`] its
//! payload carries. Facts are stored apart from the service's document
//! store, in a [`FactStore`]: SQLite by default (`sqlite.rs`), behind a
//! trait whose queries are the ones the dashboards and reports ask, so a
//! warehouse (BigQuery) can answer them instead.

pub mod decode;
pub mod replay;
pub mod sqlite;

use serde::{Deserialize, Serialize};

pub use self::sqlite::SqliteFacts;

/// One event, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingest {
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    /// When it happened, seconds since the Unix epoch.
    pub at: i64,
    pub fact: Fact,
}

/// What an event says, as far as analytics uses it. Events that only need
/// counting (`media.uploaded`, `payment.executed`, ...) are [`Fact::Other`]:
/// they are kept in the event table and nowhere else.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// A product as it now is (created or updated).
    Product(ProductFact),
    /// A product deleted.
    ProductDeleted { product_id: String },
    /// The ML service's style tags of a product's photo.
    Tags {
        product_id: String,
        tags: Vec<String>,
    },
    /// Views, likes, unlikes, shares and clicks.
    Engagement(EngagementFact),
    /// A step of an order's life.
    Order(OrderFact),
    /// A search's first page.
    Search(SearchFact),
    /// A price the pricing service suggested.
    Suggestion(SuggestionFact),
    /// Anything else: counted, not analysed.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductFact {
    pub product_id: String,
    pub artisan_id: String,
    /// Empty when an older `product.updated` did not carry it: the stored
    /// value is kept.
    pub title: String,
    pub category: String,
    pub subcategory: String,
    pub region: String,
    /// Paise; `None` when the event did not carry a price.
    pub price: Option<i64>,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngagementFact {
    pub product_id: String,
    pub artisan_id: String,
    /// `view`, `like`, `unlike`, `share` or `click`.
    pub kind: String,
    pub count: i64,
    pub user_id: String,
    pub search_id: String,
}

/// Which step of an order an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStep {
    Placed,
    Paid,
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderFact {
    pub order_id: String,
    pub step: Option<OrderStep>,
    pub product_id: String,
    pub artisan_id: String,
    pub buyer_id: String,
    pub quantity: i64,
    /// Paise, in rupees; orders in another currency are not sales here.
    pub total: Option<i64>,
    pub unit_price: Option<i64>,
    pub category: String,
    pub subcategory: String,
    pub region: String,
    pub buyer_region: String,
    pub search_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchFact {
    pub search_id: String,
    pub query: String,
    pub result_ids: Vec<String>,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionFact {
    pub product_id: String,
    pub suggested: i64,
    pub low: i64,
    pub high: i64,
    pub method: String,
}

/// A span of time, seconds since the Unix epoch: `from` inclusive, `to`
/// exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

impl Window {
    /// The window of the same length just before this one.
    pub fn previous(self) -> Window {
        Window {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }
}

/// Whose sales or engagement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Artisan(String),
    Buyer(String),
    Product(String),
    /// A category (and a region of products in it, when given).
    Market {
        category: String,
        region: Option<String>,
    },
    /// A category's sales outside a region (those without one included):
    /// what the category less the region shows.
    RestOfMarket {
        category: String,
        region: String,
    },
}

/// Sales in a window: orders paid and not cancelled, by when they were
/// placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sales {
    pub orders: i64,
    pub units: i64,
    /// Paise.
    pub revenue: i64,
}

/// Engagement in a window (likes are net of unlikes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Engagement {
    pub views: i64,
    pub likes: i64,
    pub shares: i64,
    pub clicks: i64,
}

/// One product's figures in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductFigures {
    pub product_id: String,
    pub title: String,
    pub category: String,
    pub sales: Sales,
    pub engagement: Engagement,
}

/// What one search query did for a scope's products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryFigures {
    pub query: String,
    /// Times one of the products was on the first page of its results.
    pub impressions: i64,
    /// Times one was opened from its results.
    pub clicks: i64,
    /// Orders placed from its results.
    pub orders: i64,
}

/// Sales of one bucket of time (or one month of the year).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// The bucket's start (seconds), or the month 1–12 for seasons.
    pub key: i64,
    pub sales: Sales,
}

/// A count by name (a tag, a category, a region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Count {
    pub name: String,
    pub count: i64,
}

/// A stored product's current facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredProduct {
    pub product_id: String,
    pub artisan_id: String,
    pub title: String,
    pub category: String,
    pub region: String,
    /// Paise (rupees), as last listed.
    pub price: Option<i64>,
    pub status: String,
    pub tags: Vec<String>,
}

/// The latest suggestion for one of an artisan's products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSuggestion {
    pub product_id: String,
    pub title: String,
    pub price: Option<i64>,
    pub suggested: i64,
    pub low: i64,
    pub high: i64,
    pub method: String,
    pub at: i64,
}

/// How far buckets of time reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    Week,
    Month,
}

/// The rows a report asks for: metrics grouped by dimensions, within
/// filters. Validated before it gets here (see `report::spec`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    pub window: Window,
    pub dimensions: Vec<Dimension>,
    pub category: Option<String>,
    pub region: Option<String>,
    pub artisan_id: Option<String>,
    pub product_id: Option<String>,
    /// The most rows returned.
    pub limit: usize,
}

/// What report rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Day,
    Week,
    Month,
    Category,
    Region,
    Product,
    BuyerRegion,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
        Dimension::Category,
        Dimension::Region,
        Dimension::Product,
        Dimension::BuyerRegion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Day => "day",
            Dimension::Week => "week",
            Dimension::Month => "month",
            Dimension::Category => "category",
            Dimension::Region => "region",
            Dimension::Product => "product",
            Dimension::BuyerRegion => "buyer_region",
        }
    }

    pub fn is_time(self) -> bool {
        matches!(self, Dimension::Day | Dimension::Week | Dimension::Month)
    }
}

/// One report row: the dimension values (as text) and every figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub keys: Vec<String>,
    pub sales: Sales,
    pub engagement: Engagement,
}

/// What can go wrong in the fact store.
#[derive(Debug, thiserror::Error)]
pub enum FactError {
    #[error("fact store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("fact store: {0}")]
    Io(#[from] std::io::Error),
    #[error("fact store: a connection was poisoned by a panic")]
    Poisoned,
}

/// Where facts are kept, and the questions asked of them. Every method
/// blocks: callers run them off the async workers.
pub trait FactStore: Send + Sync + 'static {
    /// Store a batch in one transaction; an event already stored (by id)
    /// is skipped. Returns how many were new.
    fn ingest(&self, batch: &[Ingest]) -> Result<usize, FactError>;

    /// A product's stored facts.
    fn product(&self, product_id: &str) -> Result<Option<StoredProduct>, FactError>;

    /// Sales of a scope in a window.
    fn sales(&self, scope: &Scope, window: Window) -> Result<Sales, FactError>;

    /// Engagement with a scope's products in a window (for a buyer: what
    /// they themselves did).
    fn engagement(&self, scope: &Scope, window: Window) -> Result<Engagement, FactError>;

    /// An artisan's products with the most revenue (then views) in a window.
    fn top_products(
        &self,
        artisan_id: &str,
        window: Window,
        n: usize,
    ) -> Result<Vec<ProductFigures>, FactError>;

    /// Every product of a category with its figures in a window (at most
    /// `n`, the most viewed first), for comparisons within the category.
    fn category_products(
        &self,
        category: &str,
        window: Window,
        n: usize,
    ) -> Result<Vec<ProductFigures>, FactError>;

    /// The queries whose results showed an artisan's products.
    fn search_queries(
        &self,
        artisan_id: &str,
        window: Window,
        n: usize,
    ) -> Result<Vec<QueryFigures>, FactError>;

    /// Sales of a scope by bucket of time.
    fn sales_over_time(
        &self,
        scope: &Scope,
        window: Window,
        grain: Grain,
    ) -> Result<Vec<Bucket>, FactError>;

    /// Sales of a scope by month of the year (1–12), over a window.
    fn sales_by_month_of_year(
        &self,
        scope: &Scope,
        window: Window,
    ) -> Result<Vec<Bucket>, FactError>;

    /// The median unit price (paise) of a scope's sales in a window.
    fn median_unit_price(&self, scope: &Scope, window: Window) -> Result<Option<i64>, FactError>;

    /// How many artisans sold in a scope and window, counted up to `up_to`
    /// (the read stops there).
    fn sellers(&self, scope: &Scope, window: Window, up_to: u32) -> Result<u32, FactError>;

    /// Units sold by ML style tag in a scope and window, the most first.
    fn units_by_tag(
        &self,
        scope: &Scope,
        window: Window,
        n: usize,
    ) -> Result<Vec<Count>, FactError>;

    /// Units sold by the buyers' region (state) in a scope and window.
    fn units_by_buyer_region(&self, scope: &Scope, window: Window)
    -> Result<Vec<Count>, FactError>;

    /// A buyer's orders by category in a window, the most first.
    fn buyer_categories(&self, buyer_id: &str, window: Window) -> Result<Vec<Count>, FactError>;

    /// The products a user likes now (liked and not unliked), newest first.
    fn liked_products(&self, user_id: &str, n: usize) -> Result<Vec<StoredProduct>, FactError>;

    /// The categories an artisan sells in.
    fn artisan_categories(&self, artisan_id: &str) -> Result<Vec<String>, FactError>;

    /// The latest suggestion for each of an artisan's products.
    fn suggestions(&self, artisan_id: &str, n: usize) -> Result<Vec<StoredSuggestion>, FactError>;

    /// Report rows.
    fn report(&self, query: &ReportQuery) -> Result<Vec<ReportRow>, FactError>;

    /// How many events are stored.
    fn event_count(&self) -> Result<i64, FactError>;
}
