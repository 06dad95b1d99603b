//! The pricing service's one error type and where it becomes a problem.

use common::ApiError;

common::problem_codes! {
    /// 404: the service has not heard of this product (or it is deleted).
    UNKNOWN_PRODUCT = "unknown_product",
    /// 404: no price has been suggested for this product yet.
    NO_SUGGESTION = "no_suggestion",
}

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// 404 `unknown_product`.
    #[error(
        "no product {0} is known to the pricing service (a new product takes a moment to arrive)"
    )]
    UnknownProduct(String),
    /// 404 `no_suggestion`.
    #[error("no price has been suggested for product {0} yet")]
    NoSuggestion(String),
    /// 403 `forbidden`.
    #[error("only the product's artisan or an admin may price it")]
    NotYours,
    /// Shaped already (403 from role checks, 422 from validation).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The shared answer of [`events::store_problem`]: 503 while the store
    /// is down, otherwise 500 `internal`.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// 500 `internal`: a task failed.
    #[error("{0}")]
    Internal(String),
}

impl From<PricingError> for ApiError {
    fn from(err: PricingError) -> Self {
        let detail = err.to_string();
        match err {
            PricingError::UnknownProduct(_) => ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                codes::UNKNOWN_PRODUCT,
                detail,
            ),
            PricingError::NoSuggestion(_) => ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                codes::NO_SUGGESTION,
                detail,
            ),
            PricingError::NotYours => ApiError::forbidden(detail),
            PricingError::Api(e) => e,
            PricingError::Store(e) => events::store_problem(e),
            PricingError::Internal(e) => ApiError::internal(anyhow::anyhow!(e)),
        }
    }
}

common::problem_response!(PricingError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<PricingError>();
    }
}
