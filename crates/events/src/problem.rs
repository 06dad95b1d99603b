//! The one answer a service gives for a store failure it does not handle
//! itself, so an outage of the document store is a 503 everywhere.

use std::time::Duration;

use common::error::ApiError;
use common::pagination::invalid_cursor;
use store::StoreError;

/// How long a client is asked to wait when the document store is down.
pub const STORE_RETRY: Duration = Duration::from_secs(2);

/// The problem for a store error a service has no answer of its own for:
///
/// - the store is unavailable (I/O, timeout, the backend down or
///   overloaded): 503 `unavailable` with `Retry-After`, because trying
///   again is right;
/// - a malformed or foreign cursor: the shared 422 of [`invalid_cursor`];
/// - anything else (a store that failed for good, a missing index or
///   permission, a stored document that no longer fits its type, a
///   precondition the service did not expect to fail): 500 `internal`.
///
/// Services match the outcomes they mean (a conflict as 409 or 412, a
/// missing document as 404) before falling back to this.
pub fn store_problem(err: StoreError) -> ApiError {
    match err {
        StoreError::InvalidCursor => invalid_cursor(),
        StoreError::Unavailable(_) => ApiError::unavailable(
            STORE_RETRY,
            "storage is unavailable just now; try again shortly",
        )
        .with_source(err),
        other => ApiError::internal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn an_outage_is_503_with_retry_after_and_a_bad_cursor_422() {
        let outage = store_problem(StoreError::unavailable(std::io::Error::other("down")));
        assert_eq!(outage.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(outage.code(), common::error::codes::UNAVAILABLE);
        let response = axum::response::IntoResponse::into_response(outage);
        assert_eq!(
            response.headers()[http::header::RETRY_AFTER],
            STORE_RETRY.as_secs().to_string().as_str()
        );
        assert_eq!(
            store_problem(StoreError::InvalidCursor).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let failed = store_problem(StoreError::failed(
            "Firestore: FailedPrecondition: no index",
        ));
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let Err(bad) = serde_json::from_str::<u8>("x") else {
            panic!("x is not a number")
        };
        let corrupt = StoreError::Serialize(bad);
        assert_eq!(
            store_problem(corrupt).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
