//! The reviews service's one error type and where it becomes a problem.

use common::ApiError;

common::problem_codes! {
    /// 409: the buyer has reviewed this product already.
    ALREADY_REVIEWED = "already_reviewed",
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// 409 `already_reviewed`.
    #[error("you have reviewed this product already")]
    AlreadyReviewed,
    /// Shaped already (403 from role checks, 422 from validation).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The shared answer ([`events::store_problem`]): 503 while the store
    /// is down, otherwise 500 `internal`.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl From<ReviewError> for ApiError {
    fn from(err: ReviewError) -> Self {
        let detail = err.to_string();
        match err {
            ReviewError::AlreadyReviewed => ApiError::conflict(codes::ALREADY_REVIEWED, detail),
            ReviewError::Api(e) => e,
            ReviewError::Store(e) => events::store_problem(e),
        }
    }
}

common::problem_response!(ReviewError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<ReviewError>();
    }
}
