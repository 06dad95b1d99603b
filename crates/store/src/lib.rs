//! Document storage for CraftChain services.
//!
//! Services keep JSON documents in named collections. [`DocumentStore`] is the
//! backend-neutral interface (SQLite embedded by default, Firestore in
//! production); [`Store`] adds optimistic multi-document transactions on top
//! of it, and [`Collection`] gives typed access so services never handle raw
//! JSON. Every backend must pass the suite in [`conformance`].

mod error;
mod firestore_backend;
mod names;
mod query;
mod sqlite;
mod store;
mod typed;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use error::{StoreError, StoreResult};
pub use firestore_backend::{
    CompositeIndex, FirestoreIndexes, FirestoreSettings, FirestoreStore, IndexField,
};
pub use query::{Cursor, Direction, Filter, Op, OrderBy, Page, Query};
pub use sqlite::SqliteStore;
pub use store::{MAX_ATTEMPTS, Store, Txn, TxnFn};
pub use typed::{Collection, Entity, Versioned};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A document's version: it changes on every write and is the optimistic
/// concurrency token (the `ETag` of HTTP reads, the `If-Match` of updates).
/// The SQLite backend counts writes; Firestore maps it to the update time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub i64);

/// One stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub version: Version,
    pub data: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A precondition on a document, checked atomically with a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// The document must not exist.
    Absent,
    /// The document must exist, whatever its version.
    Exists,
    /// The document must exist with exactly this version.
    Version(Version),
}

/// One write of an atomic [`DocumentStore::commit`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Replace (or create) the document, if the precondition holds.
    Put {
        collection: String,
        id: String,
        data: Value,
        precondition: Option<Precondition>,
    },
    /// Delete the document, if the precondition holds (deleting an absent
    /// document without precondition is not an error).
    Delete {
        collection: String,
        id: String,
        precondition: Option<Precondition>,
    },
    /// Write nothing, but fail the commit unless the precondition holds:
    /// how a transaction proves that what it read is still current.
    Verify {
        collection: String,
        id: String,
        precondition: Precondition,
    },
}

/// A secondary index a service declares for its queries: the SQLite twin of
/// a Firestore composite index. Fields are JSON paths such as `category` or
/// `price.amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub collection: String,
    pub fields: Vec<(String, Direction)>,
}

impl IndexSpec {
    pub fn new(collection: &str, fields: &[(&str, Direction)]) -> Self {
        Self {
            collection: collection.to_owned(),
            fields: fields.iter().map(|(f, d)| ((*f).to_owned(), *d)).collect(),
        }
    }
}

/// The backend interface. Object safe: services hold an `Arc<dyn DocumentStore>`
/// inside [`Store`].
#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// Backend name for logs and `/ready` (`sqlite`, `firestore`).
    fn backend(&self) -> &'static str;

    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<Document>>;

    /// Fetch several documents of one collection; absent ids are skipped.
    async fn get_many(&self, collection: &str, ids: &[String]) -> StoreResult<Vec<Document>>;

    /// Run a query; the page's `next_cursor` is set when more may follow.
    async fn query(&self, collection: &str, query: &Query) -> StoreResult<Page>;

    /// Apply every write atomically, or none: if any precondition fails the
    /// whole commit fails with [`StoreError::Conflict`] (or
    /// [`StoreError::AlreadyExists`] / [`StoreError::NotFound`] for
    /// `Absent` / `Exists` preconditions) and nothing changes.
    /// Returns the new version of each `Put`, in order.
    async fn commit(&self, writes: Vec<Write>) -> StoreResult<Vec<Version>>;

    /// Create any declared index that is missing. Idempotent.
    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> StoreResult<()>;

    /// Cheap liveness check of the backend, for `/ready`.
    async fn ping(&self) -> StoreResult<()>;
}
