//! Turning store and search failures into problems.

use common::ApiError;
use common::pagination::invalid_cursor;
use store::StoreError;

use crate::search::SearchError;

/// Map a store error: a bad cursor is the client's, the rest is ours.
pub fn store(err: StoreError) -> ApiError {
    match err {
        StoreError::InvalidCursor => invalid_cursor(),
        StoreError::Conflict { .. } => {
            ApiError::precondition_failed("the resource changed meanwhile; read it again")
        }
        other => ApiError::internal(other),
    }
}

/// Map a search error.
pub fn search(err: SearchError) -> ApiError {
    match err {
        SearchError::BadQuery(reason) => ApiError::invalid_field("query", "invalid", reason),
        SearchError::Index(_) => {
            ApiError::unavailable(std::time::Duration::from_secs(2), "search is unavailable")
                .with_source(err)
        }
    }
}

/// An error inside a store transaction: a problem for the client, or a
/// store failure (retried on conflict by `Store::transact`).
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure(store(e))
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        f.0
    }
}
