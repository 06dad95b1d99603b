//! [`Txn`]: the buffered reads and writes of one attempt of
//! [`Store::transact`](crate::Store::transact).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use crate::typed::to_data;
use crate::{Document, DocumentStore, Entity, Precondition, Query, StoreError, StoreResult};
use crate::{Version, Versioned, Write};

/// (collection, id)
type Key = (String, String);

enum Pending {
    Put(Value),
    Delete,
}

#[derive(Default)]
struct Entry {
    /// What this transaction read from the store (`Some(None)`: absent).
    read: Option<Option<Document>>,
    /// The buffered write, the last one wins.
    pending: Option<Pending>,
    /// The precondition committed with the write: what was read, or else the
    /// precondition of the first write.
    precondition: Option<Precondition>,
}

impl Entry {
    /// The version the store had when read (`None`: absent).
    fn read_version(&self) -> Option<Option<Version>> {
        self.read
            .as_ref()
            .map(|doc| doc.as_ref().map(|doc| doc.version))
    }

    /// The document's version as this transaction sees it, if known. A
    /// buffered put keeps the version it was read with (0 when new).
    fn view_version(&self) -> Option<Option<Version>> {
        match &self.pending {
            Some(Pending::Put(_)) => {
                Some(Some(self.read_version().flatten().unwrap_or(Version(0))))
            }
            Some(Pending::Delete) => Some(None),
            None => self.read_version(),
        }
    }
}

/// One attempt of an optimistic transaction. Reads go to the store (and are
/// remembered: reading a document twice gives the same answer, and reading
/// a document this transaction wrote gives the buffered write); writes are
/// buffered until the commit.
pub struct Txn {
    store: Arc<dyn DocumentStore>,
    entries: BTreeMap<Key, Entry>,
    /// Written keys, in the order of their first write.
    write_order: Vec<Key>,
    /// A failed precondition of [`Txn::put_raw`], reported at commit.
    deferred: Option<StoreError>,
}

impl Txn {
    pub(crate) fn new(store: Arc<dyn DocumentStore>) -> Self {
        Self {
            store,
            entries: BTreeMap::new(),
            write_order: Vec::new(),
            deferred: None,
        }
    }

    /// Reads a typed document; the commit fails with a conflict if it changes
    /// (or appears) before then.
    pub async fn get<T: Entity>(&mut self, id: &str) -> StoreResult<Option<Versioned<T>>> {
        self.get_raw(T::COLLECTION, id)
            .await?
            .map(Versioned::from_document)
            .transpose()
    }

    /// Reads a raw document, tracked like [`Txn::get`].
    pub async fn get_raw(&mut self, collection: &str, id: &str) -> StoreResult<Option<Document>> {
        let key = (collection.to_owned(), id.to_owned());
        if let Some(entry) = self.entries.get(&key) {
            match (&entry.pending, &entry.read) {
                (Some(Pending::Delete), _) => return Ok(None),
                (Some(Pending::Put(data)), read) => {
                    let read = read.as_ref().and_then(Option::as_ref);
                    let now = Utc::now();
                    return Ok(Some(Document {
                        id: id.to_owned(),
                        version: read.map_or(Version(0), |doc| doc.version),
                        data: data.clone(),
                        created_at: read.map_or(now, |doc| doc.created_at),
                        updated_at: read.map_or(now, |doc| doc.updated_at),
                    }));
                }
                (None, Some(read)) => return Ok(read.clone()),
                (None, None) => {}
            }
        }
        let doc = self.store.get(collection, id).await?;
        self.entries.entry(key).or_default().read = Some(doc.clone());
        Ok(doc)
    }

    /// Creates the document: fails with `AlreadyExists` if it exists.
    pub fn create<T: Entity>(&mut self, id: &str, value: &T) -> StoreResult<()> {
        let data = to_data(value)?;
        self.write(
            T::COLLECTION,
            id,
            Pending::Put(data),
            Some(Precondition::Absent),
        )
    }

    /// Replaces the document if it still has `doc.version`.
    pub fn update<T: Entity>(&mut self, doc: &Versioned<T>) -> StoreResult<()> {
        let data = to_data(&doc.value)?;
        let precondition = Precondition::Version(doc.version);
        self.write(
            T::COLLECTION,
            &doc.id,
            Pending::Put(data),
            Some(precondition),
        )
    }

    /// Creates or replaces the document; if this transaction read it, the
    /// commit requires it unchanged since.
    pub fn set<T: Entity>(&mut self, id: &str, value: &T) -> StoreResult<()> {
        let data = to_data(value)?;
        self.write(T::COLLECTION, id, Pending::Put(data), None)
    }

    /// Deletes the document; if this transaction read it, the commit requires
    /// it unchanged since.
    pub fn delete<T: Entity>(&mut self, id: &str) -> StoreResult<()> {
        self.write(T::COLLECTION, id, Pending::Delete, None)
    }

    /// Buffers a raw put. A precondition that already fails against what this
    /// transaction saw makes the commit fail with that error.
    pub fn put_raw(
        &mut self,
        collection: &str,
        id: &str,
        data: Value,
        precondition: Option<Precondition>,
    ) {
        if let Err(err) = self.write(collection, id, Pending::Put(data), precondition) {
            self.deferred.get_or_insert(err);
        }
    }

    /// Runs a query against the store. Not tracked: the commit does not check
    /// that the results are still current, and buffered writes are not seen.
    /// Read (with [`Txn::get`]) the documents whose state the writes rely on.
    pub async fn query<T: Entity>(&mut self, query: &Query) -> StoreResult<Vec<Versioned<T>>> {
        self.store
            .query(T::COLLECTION, query)
            .await?
            .docs
            .into_iter()
            .map(Versioned::from_document)
            .collect()
    }

    fn write(
        &mut self,
        collection: &str,
        id: &str,
        pending: Pending,
        precondition: Option<Precondition>,
    ) -> StoreResult<()> {
        let key = (collection.to_owned(), id.to_owned());
        let entry = self.entries.entry(key.clone()).or_default();
        if let (Some(precondition), Some(view)) = (precondition, entry.view_version()) {
            check(precondition, view, collection, id)?;
        }
        if entry.pending.is_none() {
            entry.precondition = match entry.read_version() {
                Some(read) => Some(read_precondition(read)),
                None => precondition,
            };
            self.write_order.push(key);
        }
        entry.pending = Some(pending);
        Ok(())
    }

    /// Commits the buffered writes plus a `Verify` of every document read but
    /// not written. A failed precondition on a document this transaction read
    /// is reported as [`StoreError::Conflict`].
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        let read: BTreeSet<Key> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.read.is_some())
            .map(|(key, _)| key.clone())
            .collect();
        let mut writes = Vec::with_capacity(self.entries.len());
        for key in self.write_order {
            let Some(entry) = self.entries.remove(&key) else {
                continue;
            };
            let (collection, id) = key;
            let precondition = entry.precondition;
            writes.push(match entry.pending {
                Some(Pending::Put(data)) => Write::Put {
                    collection,
                    id,
                    data,
                    precondition,
                },
                Some(Pending::Delete) | None => Write::Delete {
                    collection,
                    id,
                    precondition,
                },
            });
        }
        // What is left was read but not written.
        for ((collection, id), entry) in self.entries {
            if let Some(version) = entry.read_version() {
                writes.push(Write::Verify {
                    collection,
                    id,
                    precondition: read_precondition(version),
                });
            }
        }
        if writes.is_empty() {
            return Ok(());
        }
        match self.store.commit(writes).await {
            Ok(_) => Ok(()),
            Err(
                StoreError::NotFound { collection, id }
                | StoreError::AlreadyExists { collection, id },
            ) if read.contains(&(collection.clone(), id.clone())) => {
                Err(StoreError::Conflict { collection, id })
            }
            Err(err) => Err(err),
        }
    }

    /// The first failed precondition of [`Txn::put_raw`]: the transaction
    /// must not commit.
    pub(crate) fn take_deferred(&mut self) -> Option<StoreError> {
        self.deferred.take()
    }
}

fn read_precondition(read: Option<Version>) -> Precondition {
    read.map_or(Precondition::Absent, Precondition::Version)
}

/// Checks a precondition against this transaction's view of a document.
fn check(
    precondition: Precondition,
    view: Option<Version>,
    collection: &str,
    id: &str,
) -> StoreResult<()> {
    match (precondition, view) {
        (Precondition::Absent, Some(_)) => Err(StoreError::already_exists(collection, id)),
        (Precondition::Exists | Precondition::Version(_), None) => {
            Err(StoreError::not_found(collection, id))
        }
        (Precondition::Version(expected), Some(actual)) if expected != actual => {
            Err(StoreError::conflict(collection, id))
        }
        _ => Ok(()),
    }
}
