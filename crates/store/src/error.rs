//! The one error type of the store, shared by every backend.

use std::error::Error as StdError;

/// Everything that can go wrong talking to a [`DocumentStore`](crate::DocumentStore).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The document does not exist (an `Exists` or `Version` precondition failed).
    #[error("document {collection}/{id} not found")]
    NotFound { collection: String, id: String },

    /// The document already exists (an `Absent` precondition failed).
    #[error("document {collection}/{id} already exists")]
    AlreadyExists { collection: String, id: String },

    /// The document exists but not with the expected version.
    #[error("document {collection}/{id} was modified concurrently")]
    Conflict { collection: String, id: String },

    /// A query cursor is malformed or belongs to a differently ordered query.
    #[error("invalid cursor")]
    InvalidCursor,

    /// A query is malformed (bad operator value, limit out of range, …).
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// A collection name, field path or document id is not acceptable.
    #[error("invalid name: {0}")]
    InvalidName(String),

    /// A stored document does not deserialize into the typed entity.
    #[error("document {collection}/{id} does not match its type")]
    Corrupt {
        collection: String,
        id: String,
        #[source]
        source: serde_json::Error,
    },

    /// A value could not be serialized to JSON.
    #[error("cannot serialize document")]
    Serialize(#[source] serde_json::Error),

    /// The backend could not be reached or is overloaded (I/O, a timeout,
    /// a busy database, a worker thread lost): trying again later may work.
    #[error("document store unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),

    /// The backend refused or failed in a way trying again will not mend:
    /// a missing index or permission, a newer schema, an answer it should
    /// never give, stored data it cannot read.
    #[error("document store failed")]
    Failed(#[source] Box<dyn StdError + Send + Sync>),
}

/// Result alias used throughout the crate.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A backend failure that may pass ([`StoreError::Unavailable`]).
    pub fn unavailable(err: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Unavailable(err.into())
    }

    /// A backend failure that will not pass ([`StoreError::Failed`]).
    pub fn failed(err: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Failed(err.into())
    }

    /// A version precondition failed: the caller's copy is stale.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    pub fn is_already_exists(&self) -> bool {
        matches!(self, Self::AlreadyExists { .. })
    }

    /// Any failed precondition: `NotFound`, `AlreadyExists` or `Conflict`.
    pub fn is_precondition_failure(&self) -> bool {
        self.is_conflict() || self.is_not_found() || self.is_already_exists()
    }

    /// The caller sent something unacceptable (a 400 rather than a 500).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Self::InvalidCursor | Self::InvalidQuery(_) | Self::InvalidName(_)
        )
    }

    pub(crate) fn not_found(collection: &str, id: &str) -> Self {
        Self::NotFound {
            collection: collection.to_owned(),
            id: id.to_owned(),
        }
    }

    pub(crate) fn already_exists(collection: &str, id: &str) -> Self {
        Self::AlreadyExists {
            collection: collection.to_owned(),
            id: id.to_owned(),
        }
    }

    pub(crate) fn conflict(collection: &str, id: &str) -> Self {
        Self::Conflict {
            collection: collection.to_owned(),
            id: id.to_owned(),
        }
    }
}
