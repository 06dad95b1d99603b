//! Full-text search over products. [`SearchIndex`] is the backend-neutral
//! interface (tantivy on disk by default; production may use Vertex AI
//! embeddings with Firestore vector search behind the same trait).

mod tantivy_index;

pub use tantivy_index::TantivyIndex;

use async_trait::async_trait;
use std::collections::BTreeMap;

/// What the index holds of one product (and a search snapshot, one a line).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchDoc {
    pub id: String,
    pub title: String,
    /// Language code → description text (en, hi, bn, ta, te, mr).
    pub description: BTreeMap<String, String>,
    pub materials: Vec<String>,
    pub category: String,
    pub subcategory: String,
    pub craft_tradition: String,
    pub cultural_story: String,
    pub region: String,
    pub artisan_id: String,
    pub status: String,
    /// Price in minor units.
    pub price: i64,
    pub currency: String,
    /// Creation time as Unix microseconds.
    pub created_at_us: i64,
    /// Last change as Unix microseconds (for the staleness check).
    pub updated_at_us: i64,
}

/// Filters applied on top of the text query (all optional, AND-ed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilters {
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub region: Option<String>,
    pub artisan_id: Option<String>,
    pub material: Option<String>,
    /// Exact status; `None` means every status except `deleted`.
    pub status: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
}

/// One search request.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Free text; may be in any of the indexed languages.
    pub text: String,
    pub filters: SearchFilters,
    pub limit: usize,
    /// Number of hits to skip (the route encodes it in an opaque cursor).
    pub offset: usize,
}

/// One hit, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: String,
    pub score: f32,
    /// Field name → HTML snippet with `<b>` around matched terms.
    pub highlights: BTreeMap<String, String>,
}

/// A page of hits.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Total matching documents.
    pub total: usize,
}

/// Search failures (the route answers 503 or 422).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The text could not be parsed as a query.
    #[error("the search text is not a valid query: {0}")]
    BadQuery(String),
    #[error("search index failure: {0}")]
    Index(String),
}

/// A full-text index of products.
#[async_trait]
pub trait SearchIndex: Send + Sync + 'static {
    /// Insert or replace a document; visible to searches when this returns.
    async fn upsert(&self, doc: SearchDoc) -> Result<(), SearchError>;
    /// Remove a document (deleted products are never found).
    async fn remove(&self, id: &str) -> Result<(), SearchError>;
    /// Replace the whole index with `docs` (used at start when the index is
    /// missing or stale).
    async fn rebuild(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError>;
    /// Ranked search with filters and highlights.
    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError>;
    /// Number of documents and the newest `updated_at_us` among them (the
    /// service compares both with its store at start to detect a stale index).
    async fn stats(&self) -> Result<IndexStats, SearchError>;
}

/// See [`SearchIndex::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    pub docs: u64,
    pub newest_update_us: i64,
}
