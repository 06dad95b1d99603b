//! The contract every [`DocumentStore`](crate::DocumentStore) backend must
//! honour, as async checks that panic with a clear message on a violation.
//!
//! Each check takes a [`Store`] and works in collections (or, for the typed
//! checks, under document ids) no other run uses, so the suite can share a
//! database such as a Firestore emulator. Enable the `conformance` feature to
//! run it against another backend; [`run_all`] runs every check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod commit;
mod crud;
mod paging;
mod queries;
mod transactions;

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Document, Entity, Query, Store, Write};

pub use commit::{commit_is_atomic, commit_preconditions, verify_preconditions};
pub use crud::{raw_documents, typed_crud};
pub use paging::{
    cursor_paging_visits_every_document_once, cursor_paging_with_concurrent_writes,
    invalid_cursors_rejected,
};
pub use queries::{invalid_queries_rejected, query_operators, query_ordering};
pub use transactions::{
    concurrent_increments, transaction_conflict_retry, transaction_error_aborts,
    transaction_read_your_writes, transaction_retries_are_bounded,
};

/// Runs every check in turn.
pub async fn run_all(store: &Store) {
    typed_crud(store).await;
    raw_documents(store).await;
    commit_preconditions(store).await;
    commit_is_atomic(store).await;
    verify_preconditions(store).await;
    query_operators(store).await;
    query_ordering(store).await;
    invalid_queries_rejected(store).await;
    cursor_paging_visits_every_document_once(store).await;
    cursor_paging_with_concurrent_writes(store).await;
    invalid_cursors_rejected(store).await;
    transaction_read_your_writes(store).await;
    transaction_error_aborts(store).await;
    transaction_conflict_retry(store).await;
    transaction_retries_are_bounded(store).await;
    concurrent_increments(store).await;
}

/// A typed entity for the checks of [`Collection`](crate::Collection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Widget {
    name: String,
    count: i64,
}

impl Entity for Widget {
    const COLLECTION: &'static str = "conformance_widgets";
}

/// A typed entity for the transaction checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Counter {
    n: i64,
}

impl Entity for Counter {
    const COLLECTION: &'static str = "conformance_counters";
}

fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:08x}", n as u32)
}

/// A collection name no other run uses: `conf_<what>_<random>`.
fn unique_collection(what: &str) -> String {
    format!("conf_{what}_{}", random_hex())
}

/// A document id no other run uses.
fn unique_id(what: &str) -> String {
    format!("{what}-{}", random_hex())
}

/// Writes raw documents in one commit (no preconditions).
async fn put_all(store: &Store, collection: &str, docs: &[(&str, Value)]) {
    let writes = docs
        .iter()
        .map(|(id, data)| Write::Put {
            collection: collection.to_owned(),
            id: (*id).to_owned(),
            data: data.clone(),
            precondition: None,
        })
        .collect();
    store
        .backend()
        .commit(writes)
        .await
        .unwrap_or_else(|err| panic!("writing fixtures to {collection}: {err:?}"));
}

/// The ids of one page of `query`.
async fn query_ids(store: &Store, collection: &str, query: &Query) -> Vec<String> {
    let page = store
        .backend()
        .query(collection, query)
        .await
        .unwrap_or_else(|err| panic!("query {query:?} on {collection}: {err:?}"));
    ids(&page.docs)
}

fn ids(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|doc| doc.id.clone()).collect()
}
