//! Typed access to collections: services read and write their own structs,
//! never raw JSON.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Cursor, Document, DocumentStore, Precondition, Query, StoreError, StoreResult};
use crate::{Version, Write};

/// A type stored as documents of one collection.
pub trait Entity: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The collection name (`users`, `products`, …).
    const COLLECTION: &'static str;
}

/// An entity with its id and store metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub id: String,
    pub version: Version,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub value: T,
}

impl<T: Entity> Versioned<T> {
    /// Deserializes a stored document; a mismatch is [`StoreError::Corrupt`].
    pub fn from_document(doc: Document) -> StoreResult<Self> {
        let value = serde_json::from_value(doc.data).map_err(|source| StoreError::Corrupt {
            collection: T::COLLECTION.to_owned(),
            id: doc.id.clone(),
            source,
        })?;
        Ok(Self {
            id: doc.id,
            version: doc.version,
            created_at: doc.created_at,
            updated_at: doc.updated_at,
            value,
        })
    }
}

pub(crate) fn to_data<T: Serialize>(value: &T) -> StoreResult<Value> {
    serde_json::to_value(value).map_err(StoreError::Serialize)
}

/// Typed handle on the collection of `T`; cheap to clone.
pub struct Collection<T> {
    store: Arc<dyn DocumentStore>,
    _entity: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            _entity: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Collection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collection")
            .field("backend", &self.store.backend())
            .field("entity", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: Entity> Collection<T> {
    pub(crate) fn new(store: Arc<dyn DocumentStore>) -> Self {
        Self {
            store,
            _entity: PhantomData,
        }
    }

    pub async fn get(&self, id: &str) -> StoreResult<Option<Versioned<T>>> {
        self.store
            .get(T::COLLECTION, id)
            .await?
            .map(Versioned::from_document)
            .transpose()
    }

    /// The documents that exist, in the order of `ids`.
    pub async fn get_many(&self, ids: &[String]) -> StoreResult<Vec<Versioned<T>>> {
        self.store
            .get_many(T::COLLECTION, ids)
            .await?
            .into_iter()
            .map(Versioned::from_document)
            .collect()
    }

    /// Creates the document; [`StoreError::AlreadyExists`] if it exists.
    pub async fn create(&self, id: &str, value: &T) -> StoreResult<Versioned<T>> {
        self.put(id, value, Some(Precondition::Absent)).await
    }

    /// Creates or replaces the document.
    pub async fn set(&self, id: &str, value: &T) -> StoreResult<Versioned<T>> {
        self.put(id, value, None).await
    }

    /// Replaces the document if it still has version `expected`:
    /// [`StoreError::Conflict`] if not, [`StoreError::NotFound`] if it is gone.
    pub async fn update(
        &self,
        id: &str,
        value: &T,
        expected: Version,
    ) -> StoreResult<Versioned<T>> {
        self.put(id, value, Some(Precondition::Version(expected)))
            .await
    }

    /// Deletes the document (if it has version `expected`, when given).
    /// Returns whether it existed.
    pub async fn delete(&self, id: &str, expected: Option<Version>) -> StoreResult<bool> {
        let delete = |precondition| Write::Delete {
            collection: T::COLLECTION.to_owned(),
            id: id.to_owned(),
            precondition: Some(precondition),
        };
        if let Some(version) = expected {
            self.store
                .commit(vec![delete(Precondition::Version(version))])
                .await?;
            return Ok(true);
        }
        if self.store.get(T::COLLECTION, id).await?.is_none() {
            return Ok(false);
        }
        match self.store.commit(vec![delete(Precondition::Exists)]).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Runs a query; the cursor is set when more documents follow.
    pub async fn query(&self, query: &Query) -> StoreResult<(Vec<Versioned<T>>, Option<Cursor>)> {
        let page = self.store.query(T::COLLECTION, query).await?;
        let docs = page
            .docs
            .into_iter()
            .map(Versioned::from_document)
            .collect::<StoreResult<_>>()?;
        Ok((docs, page.next_cursor))
    }

    /// The first `max` documents `query` matches (its own limit and cursor
    /// are replaced), read page by page: one bounded read however many
    /// match.
    pub async fn query_up_to(&self, query: &Query, max: usize) -> StoreResult<Vec<Versioned<T>>> {
        let mut out = Vec::new();
        let mut cursor = None;
        while out.len() < max {
            let q = query
                .clone()
                .limit((max - out.len()).min(crate::query::MAX_LIMIT))
                .after(cursor);
            let (page, next) = self.query(&q).await?;
            out.extend(page);
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(out)
    }

    /// Writes the document, then reads back its metadata. If another writer
    /// got in between, the timestamps are this process's best estimate.
    async fn put(
        &self,
        id: &str,
        value: &T,
        precondition: Option<Precondition>,
    ) -> StoreResult<Versioned<T>> {
        let data = to_data(value)?;
        let versions = self
            .store
            .commit(vec![Write::Put {
                collection: T::COLLECTION.to_owned(),
                id: id.to_owned(),
                data: data.clone(),
                precondition,
            }])
            .await?;
        let version = versions
            .first()
            .copied()
            .ok_or_else(|| StoreError::failed("commit returned no version for a put"))?;
        let stored = self.store.get(T::COLLECTION, id).await?;
        let (created_at, updated_at) = match stored {
            Some(doc) if doc.version == version => (doc.created_at, doc.updated_at),
            Some(doc) => (doc.created_at, Utc::now()),
            None => (Utc::now(), Utc::now()),
        };
        let value = serde_json::from_value(data).map_err(|source| StoreError::Corrupt {
            collection: T::COLLECTION.to_owned(),
            id: id.to_owned(),
            source,
        })?;
        Ok(Versioned {
            id: id.to_owned(),
            version,
            created_at,
            updated_at,
            value,
        })
    }
}
