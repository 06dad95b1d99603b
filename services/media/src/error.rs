//! The media service's one error type, [`MediaError`], and the one place
//! where each of its variants becomes a problem (status and code).

use std::time::Duration;

use axum::extract::multipart::MultipartError;
use common::ApiError;
use common::error::FieldError;
use http::StatusCode;
use store::StoreError;

use crate::domain::blobs::BlobError;
use crate::domain::pipeline::PipelineError;

common::problem_codes! {
    /// 400: the upload is not readable `multipart/form-data`.
    BAD_MULTIPART = "bad_multipart",
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable",
}

/// How long a client waits when every image worker is busy.
const BUSY_RETRY: Duration = Duration::from_secs(2);

/// Everything that can go wrong in the media service.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The image pipeline refused the file or failed, with the status and
    /// code its variant names: 415 `unsupported_media_type` (not JPEG, PNG
    /// or WebP), 422 `corrupt_image`, 422 `image_too_large` (declared
    /// size), 413 `payload_too_large` (file bytes) or 500 `internal`
    /// (encoding).
    #[error(transparent)]
    Image(#[from] PipelineError),
    /// 413 `payload_too_large`: one file of an upload is over the limit.
    #[error("each file may have at most {max} bytes")]
    FileTooLarge { max: usize },
    /// 413 `payload_too_large`: the whole upload is over the request limit.
    #[error("the upload is too large")]
    RequestTooLarge,
    /// 400 `bad_multipart`: the body is not readable multipart.
    #[error("{0}")]
    BadMultipart(String),
    /// 422 `validation_failed`: one field of the upload form is wrong.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// 404 `not_found`: no such media item or variant.
    #[error("{0} not found")]
    NotFound(String),
    /// 403 `forbidden`: the caller may not change this media item.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 412 `precondition_failed`: the media item changed while new variants
    /// were made.
    #[error("the media changed meanwhile")]
    ChangedMeanwhile,
    /// 503 `unavailable` with `Retry-After`: no image worker is free.
    #[error("too many images are being processed; retry shortly")]
    Busy,
    /// 500 `internal`: an image worker thread failed.
    #[error("the image worker failed")]
    Worker(#[from] tokio::task::JoinError),
    /// 503 while blob storage is down ([`blobs::BlobError::into_problem`]),
    /// otherwise 500 `internal`.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The shared answer of [`events::store_problem`]: 503 while the store
    /// is down, otherwise 500 `internal`.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500 `internal`: anything else of ours.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// A problem shaped already (by an extractor, `Caller::require` or
    /// `Validator`): as it is.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl MediaError {
    /// 422 for one field of the upload form.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        MediaError::Invalid(FieldError::new(field, code, message))
    }
}

impl From<MultipartError> for MediaError {
    /// Over the request's body limit, or not well-formed multipart; the
    /// parser's own message is logged, never sent.
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            MediaError::RequestTooLarge
        } else {
            tracing::debug!(error = %e.body_text(), "malformed multipart body");
            MediaError::BadMultipart("the multipart body is malformed or ended early".to_owned())
        }
    }
}

impl From<MediaError> for ApiError {
    fn from(err: MediaError) -> Self {
        use common::error::codes::PAYLOAD_TOO_LARGE;

        let detail = err.to_string();
        match err {
            MediaError::Image(e) => e.into(),
            MediaError::FileTooLarge { max } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                PAYLOAD_TOO_LARGE,
                format!("each file may have at most {max} bytes"),
            ),
            MediaError::RequestTooLarge => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, PAYLOAD_TOO_LARGE, detail)
            }
            MediaError::BadMultipart(_) => ApiError::bad_request(codes::BAD_MULTIPART, detail),
            MediaError::Invalid(field) => ApiError::validation(vec![field]),
            MediaError::NotFound(what) => ApiError::not_found(what),
            MediaError::Forbidden(_) => ApiError::forbidden(detail),
            MediaError::ChangedMeanwhile => ApiError::precondition_failed(detail),
            MediaError::Busy => ApiError::unavailable(BUSY_RETRY, detail),
            MediaError::Worker(e) => ApiError::internal(e),
            MediaError::Blob(e) => e.into_problem(),
            MediaError::Store(e) => events::store_problem(e),
            MediaError::Internal(e) => ApiError::internal(e),
            MediaError::Api(e) => e,
        }
    }
}

common::problem_response!(MediaError);

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse as _;
    use common::error::Code;
    use common::error::codes as shared;

    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<MediaError>();
    }

    /// The status and code `err` answers with.
    fn answer(err: impl Into<MediaError>) -> (u16, Code) {
        let api = ApiError::from(err.into());
        (api.status().as_u16(), api.code())
    }

    #[test]
    fn each_refusal_answers_its_status_and_code() {
        let unsupported = shared::UNSUPPORTED_MEDIA_TYPE;
        let too_large = shared::PAYLOAD_TOO_LARGE;
        let corrupt = PipelineError::Corrupt("truncated".into());
        let huge = PipelineError::TooLarge {
            width: 100_000,
            height: 100_000,
        };
        let long = PipelineError::FileTooLarge { len: 9, max: 8 };
        let encode = PipelineError::Encode("out of memory".into());
        assert_eq!(answer(PipelineError::Unsupported), (415, unsupported));
        assert_eq!(answer(corrupt), (422, imaging::codes::CORRUPT_IMAGE));
        assert_eq!(answer(huge), (422, imaging::codes::IMAGE_TOO_LARGE));
        assert_eq!(answer(long), (413, too_large));
        assert_eq!(answer(encode), (500, shared::INTERNAL));
        assert_eq!(
            answer(MediaError::FileTooLarge { max: 8 }),
            (413, too_large)
        );
        assert_eq!(answer(MediaError::RequestTooLarge), (413, too_large));
        let bad = MediaError::BadMultipart("no boundary".into());
        assert_eq!(answer(bad), (400, codes::BAD_MULTIPART));
        let missing = MediaError::invalid("file", "required", "attach at least one file");
        assert_eq!(answer(missing), (422, shared::VALIDATION_FAILED));
        let gone = MediaError::NotFound("media m".into());
        assert_eq!(answer(gone), (404, shared::NOT_FOUND));
        assert_eq!(
            answer(MediaError::Forbidden("no")),
            (403, shared::FORBIDDEN)
        );
        let stale = MediaError::ChangedMeanwhile;
        assert_eq!(answer(stale), (412, shared::PRECONDITION_FAILED));
        assert_eq!(answer(MediaError::Busy), (503, shared::UNAVAILABLE));
        let store = StoreError::failed("a stored document without its fields");
        assert_eq!(answer(store), (500, shared::INTERNAL));
        let store = StoreError::unavailable("the backend did not answer");
        assert_eq!(answer(store), (503, shared::UNAVAILABLE));
    }

    #[test]
    fn busy_says_when_to_retry_and_codes_are_snake_case() {
        let busy = MediaError::Busy.into_response();
        let retry = busy.headers().get(http::header::RETRY_AFTER);
        assert_eq!(retry.and_then(|v| v.to_str().ok()), Some("2"));
        assert!(
            CODES
                .iter()
                .all(|c| common::error::is_snake_case(c.as_str()))
        );
    }
}
