//! The ML service's one error type and where it becomes a problem.

use std::time::Duration;

use common::ApiError;
use common::error::FieldError;
use imaging::PipelineError;

use crate::providers::ProviderError;

common::problem_codes! {
    /// 400: the upload is not readable `multipart/form-data`.
    BAD_IMAGE_FORM = "bad_image_form",
    /// 503: the capability has no provider in this deployment (local mode).
    PROVIDER_NOT_CONFIGURED = "provider_not_configured",
}

#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// The image was refused: 415, 413 or 422 (`imaging`'s mapping).
    #[error(transparent)]
    Image(#[from] PipelineError),
    /// 400 `bad_image_form`.
    #[error("{0}")]
    BadForm(String),
    /// 422 `validation_failed`: one field of the request is wrong.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// 404 `not_found`: no such media item, or not one the caller may see.
    #[error("media {0} not found")]
    MediaNotFound(String),
    /// 404 `not_found`.
    #[error("{0} not found")]
    NotFound(String),
    /// 503 `provider_not_configured` (no `Retry-After`: waiting will not help).
    #[error("no {0} provider is configured; local mode computes only what follows from the data")]
    NotConfigured(&'static str),
    /// 503 `unavailable` with `Retry-After` (the provider's own after a
    /// 429), or 422 `content_refused` when the model declined.
    #[error(transparent)]
    Provider(#[from] crate::providers::ProviderError),
    /// 503 `unavailable` with `Retry-After`: every analysis slot is busy.
    #[error("too many images are being analysed; retry shortly")]
    Busy,
    /// 503 `unavailable`: a service this needs did not answer.
    #[error(transparent)]
    Peer(#[from] common::ClientError),
    /// Shaped already (403 from role checks, 422 from validation).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The shared answer of [`events::store_problem`]: 503 while the store
    /// is down, otherwise 500 `internal`.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// 500 `internal`: an analysis thread failed.
    #[error("the analysis worker failed")]
    Worker(#[from] tokio::task::JoinError),
}

impl From<MlError> for ApiError {
    fn from(err: MlError) -> Self {
        let detail = err.to_string();
        match err {
            MlError::Image(e) => e.into(),
            MlError::BadForm(_) => ApiError::bad_request(codes::BAD_IMAGE_FORM, detail),
            MlError::Invalid(f) => ApiError::invalid_field(&f.field, &f.code, f.message),
            MlError::MediaNotFound(id) => ApiError::not_found(format!("media {id}")),
            MlError::NotFound(what) => ApiError::not_found(what),
            MlError::NotConfigured(_) => ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                codes::PROVIDER_NOT_CONFIGURED,
                detail,
            ),
            MlError::Provider(e) => match e {
                ProviderError::Quota { retry_after, .. } => {
                    ApiError::unavailable(retry_after, detail)
                }
                ProviderError::Refused { .. } => ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    common::error::codes::CONTENT_REFUSED,
                    detail,
                ),
                ProviderError::Failed { .. } => {
                    ApiError::unavailable(Duration::from_secs(5), detail)
                }
            },
            MlError::Busy => ApiError::unavailable(Duration::from_secs(2), detail),
            MlError::Peer(e) => ApiError::unavailable(Duration::from_secs(5), e.to_string()),
            MlError::Api(e) => e,
            MlError::Store(e) => events::store_problem(e),
            MlError::Worker(e) => ApiError::internal(e),
        }
    }
}

common::problem_response!(MlError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<MlError>();
    }
}
