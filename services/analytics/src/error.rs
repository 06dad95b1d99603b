//! The analytics service's one error type and where it becomes a problem.

use axum::http::StatusCode;
use common::ApiError;

use crate::facts::FactError;

common::problem_codes! {
    /// 409: the report is still being rendered (its status says how far).
    REPORT_NOT_READY = "report_not_ready",
    /// 409: rendering the report failed (its status says why).
    REPORT_FAILED = "report_failed",
    /// 403: too few artisans sold in the market to show its figures.
    TOO_FEW_SELLERS = "too_few_sellers",
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// 409 `report_not_ready`.
    #[error("report {0} is not ready yet")]
    NotReady(String),
    /// 409 `report_failed`.
    #[error("report {0} could not be rendered: {1}")]
    Failed(String, String),
    /// 403 `too_few_sellers`.
    #[error(
        "fewer than {0} artisans sold in this market in the period, the one before or \
         the last three years: its figures would show one artisan's sales"
    )]
    TooFewSellers(u32),
    /// Shaped already (401/403/404/422).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The shared answer of [`events::store_problem`]: 503 while the store
    /// is down, otherwise 500 `internal`.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// 500 `internal`.
    #[error(transparent)]
    Facts(#[from] FactError),
    /// 503 while blob storage is down ([`blobs::BlobError::into_problem`]),
    /// otherwise 500 `internal`.
    #[error(transparent)]
    Blob(#[from] blobs::BlobError),
    /// 500 `internal`: a task failed.
    #[error("{0}")]
    Internal(String),
}

impl From<tokio::task::JoinError> for AnalyticsError {
    fn from(e: tokio::task::JoinError) -> Self {
        AnalyticsError::Internal(format!("a blocking task failed: {e}"))
    }
}

impl From<AnalyticsError> for ApiError {
    fn from(err: AnalyticsError) -> Self {
        let detail = err.to_string();
        match err {
            AnalyticsError::NotReady(_) => {
                ApiError::new(StatusCode::CONFLICT, codes::REPORT_NOT_READY, detail)
            }
            AnalyticsError::Failed(..) => {
                ApiError::new(StatusCode::CONFLICT, codes::REPORT_FAILED, detail)
            }
            AnalyticsError::TooFewSellers(_) => {
                ApiError::new(StatusCode::FORBIDDEN, codes::TOO_FEW_SELLERS, detail)
            }
            AnalyticsError::Api(e) => e,
            AnalyticsError::Store(e) => events::store_problem(e),
            AnalyticsError::Facts(e) => ApiError::internal(e),
            AnalyticsError::Blob(e) => e.into_problem(),
            AnalyticsError::Internal(e) => ApiError::internal(anyhow::anyhow!(e)),
        }
    }
}

common::problem_response!(AnalyticsError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<AnalyticsError>();
    }
}
