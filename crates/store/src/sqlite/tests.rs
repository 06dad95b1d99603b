//! Tests of the SQLite backend: the conformance suite, one test per check,
//! plus SQLite specifics (schema, names, query plans).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behaviour;
mod plan;
mod schema;

use tempfile::TempDir;

use crate::{SqliteStore, Store};

/// A store on a fresh temporary file; keep the `TempDir` alive.
fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("nested").join("store.db")).unwrap();
    (dir, store)
}

fn fresh_store() -> (TempDir, Store) {
    let (dir, sqlite) = fresh();
    (dir, Store::new(std::sync::Arc::new(sqlite)))
}

macro_rules! conformance_tests {
    ($($check:ident),* $(,)?) => {
        mod conformance {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let (_dir, store) = super::fresh_store();
                    crate::conformance::$check(&store).await;
                }
            )*
        }
    };
}

conformance_tests!(
    typed_crud,
    raw_documents,
    commit_preconditions,
    commit_is_atomic,
    verify_preconditions,
    query_operators,
    query_ordering,
    invalid_queries_rejected,
    cursor_paging_visits_every_document_once,
    cursor_paging_with_concurrent_writes,
    invalid_cursors_rejected,
    transaction_read_your_writes,
    transaction_error_aborts,
    transaction_conflict_retry,
    transaction_retries_are_bounded,
    concurrent_increments,
    run_all,
);
