//! The product service's one error type, [`ProductError`], and the one
//! place where each of its variants becomes a problem (status and code).

use std::time::Duration;

use common::error::FieldError;
use common::{ApiError, ClientError};
use store::StoreError;

use crate::domain::orders::OrderStatus;
use crate::domain::payments::WebhookError;
use crate::search::SearchError;

common::problem_codes! {
    /// 409: an order cannot make this move from its current status.
    ILLEGAL_TRANSITION = "illegal_transition",
    /// 409: only a deleted product can be restored.
    NOT_DELETED = "not_deleted",
    /// 409: the product cannot be ordered now (it is paused).
    NOT_ORDERABLE = "not_orderable",
    /// 400: `POST /orders` without an `Idempotency-Key`.
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required",
    /// 409: the order cannot be paid now (not placed, or expired).
    NOT_PAYABLE = "not_payable",
    /// 502: the payment provider refused to create the payment.
    PAYMENT_PROVIDER_REFUSED = "payment_provider_refused",
    /// 401: a webhook whose signature is missing or does not match.
    INVALID_SIGNATURE = "invalid_signature",
    /// 400: a signed webhook that is not an event we can read.
    MALFORMED_WEBHOOK = "malformed_webhook",
}

/// How long a client waits before asking a payment provider again.
const PROVIDER_RETRY: Duration = Duration::from_secs(5);

/// How long a client waits before asking the search index again.
const SEARCH_RETRY: Duration = Duration::from_secs(2);
/// How long a client waits before asking for a story again.
const STORY_RETRY: Duration = Duration::from_secs(10);

/// Everything that can go wrong in the product service.
#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    /// 404 `not_found`: no such product or order, or none the caller may see.
    #[error("{0} not found")]
    NotFound(String),
    /// 403 `forbidden`: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 422 `validation_failed`: one field of the request is wrong.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// 409 `illegal_transition`: the order's status machine has no such move.
    #[error("an order cannot go from {} to {}", .from.as_str(), .to.as_str())]
    IllegalTransition { from: OrderStatus, to: OrderStatus },
    /// 409 `not_deleted`: only a deleted product can be restored.
    #[error("only a deleted product can be restored")]
    NotDeleted,
    /// 409 `not_orderable`: the product is paused.
    #[error("this product is not available to order")]
    NotOrderable,
    /// 400 `idempotency_key_required`: `POST /orders` needs the header.
    #[error("POST /orders needs an Idempotency-Key header (1–200 characters)")]
    IdempotencyKeyRequired,
    /// 428 `precondition_required`: an update without `If-Match`.
    #[error("updates need If-Match with the ETag of a read")]
    PreconditionRequired,
    /// 412 `precondition_failed`: `If-Match` names an older version.
    #[error("the product changed since it was read")]
    PreconditionFailed,
    /// 422 `validation_failed` naming `query`: the text is not a query.
    #[error("the search text is not a valid query: {0}")]
    SearchBadQuery(String),
    /// 503 `unavailable`: the search index fails.
    #[error("search is unavailable")]
    SearchUnavailable(#[source] SearchError),
    /// 503 `unavailable`: the ML service wrote no story; nothing changed.
    /// 422 `content_refused` when its model declined the content.
    #[error("the story writer is unavailable; the product is unchanged")]
    StoryUnavailable(#[source] ClientError),
    /// 503 `unavailable`: the ML service answered an empty story.
    #[error("the story writer answered nothing")]
    EmptyStory,
    /// 409 `not_payable`: the order is not placed, or its time to be paid
    /// has passed.
    #[error("this order cannot be paid now: it is not waiting for payment")]
    NotPayable,
    /// 503 `unavailable`: the payment provider did not answer; nothing was
    /// charged or changed.
    #[error("the payment provider is unavailable; nothing was charged")]
    PaymentProviderUnavailable(String),
    /// 502 `payment_provider_refused`: the provider refused the payment.
    #[error("the payment provider refused to take this payment")]
    PaymentProviderRefused(String),
    /// 401 `invalid_signature` or 400 `malformed_webhook`: a webhook that
    /// is not taken; nothing changed.
    #[error(transparent)]
    Webhook(#[from] crate::domain::payments::WebhookError),
    /// 404 `not_found`: the sandbox is not this service's provider.
    #[error("the payment sandbox is not in use here")]
    NoSandbox,
    /// 412 `precondition_failed` for a concurrent change; otherwise the
    /// shared answer of [`events::store_problem`] (422 for a bad cursor, 503
    /// while the store is down, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 503 `unavailable` when a peer (media) is down, else 502 `bad_gateway`.
    #[error(transparent)]
    Peer(#[from] ClientError),
    /// A problem shaped already (by an extractor, `Caller::require`,
    /// `Validator` or a shared helper): as it is.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl ProductError {
    /// 422 for one field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ProductError::Invalid(FieldError::new(field, code, message))
    }
}

impl From<SearchError> for ProductError {
    fn from(err: SearchError) -> Self {
        match err {
            SearchError::BadQuery(reason) => ProductError::SearchBadQuery(reason),
            index => ProductError::SearchUnavailable(index),
        }
    }
}

impl From<ProductError> for ApiError {
    fn from(err: ProductError) -> Self {
        let detail = err.to_string();
        match err {
            ProductError::NotFound(what) => ApiError::not_found(what),
            ProductError::Forbidden(_) => ApiError::forbidden(detail),
            ProductError::Invalid(field) => ApiError::validation(vec![field]),
            ProductError::IllegalTransition { .. } => {
                ApiError::conflict(codes::ILLEGAL_TRANSITION, detail)
            }
            ProductError::NotDeleted => ApiError::conflict(codes::NOT_DELETED, detail),
            ProductError::NotOrderable => ApiError::conflict(codes::NOT_ORDERABLE, detail),
            ProductError::IdempotencyKeyRequired => {
                ApiError::bad_request(codes::IDEMPOTENCY_KEY_REQUIRED, detail)
            }
            ProductError::PreconditionRequired => ApiError::precondition_required(detail),
            ProductError::PreconditionFailed => ApiError::precondition_failed(detail),
            ProductError::SearchBadQuery(reason) => {
                ApiError::invalid_field("query", "invalid", reason)
            }
            ProductError::SearchUnavailable(e) => {
                ApiError::unavailable(SEARCH_RETRY, detail).with_source(e)
            }
            ProductError::StoryUnavailable(ClientError::Problem { problem, .. })
                if problem.code == common::error::codes::CONTENT_REFUSED.as_str() =>
            {
                ApiError::new(
                    http::StatusCode::UNPROCESSABLE_ENTITY,
                    common::error::codes::CONTENT_REFUSED,
                    problem.detail.unwrap_or(detail),
                )
            }
            ProductError::StoryUnavailable(e) => {
                ApiError::unavailable(STORY_RETRY, detail).with_source(e)
            }
            ProductError::EmptyStory => ApiError::unavailable(STORY_RETRY, detail),
            ProductError::NotPayable => ApiError::conflict(codes::NOT_PAYABLE, detail),
            ProductError::PaymentProviderUnavailable(why) => {
                ApiError::unavailable(PROVIDER_RETRY, detail).with_source(anyhow::anyhow!(why))
            }
            ProductError::PaymentProviderRefused(why) => ApiError::new(
                http::StatusCode::BAD_GATEWAY,
                codes::PAYMENT_PROVIDER_REFUSED,
                detail,
            )
            .with_source(anyhow::anyhow!(why)),
            ProductError::Webhook(WebhookError::BadSignature) => ApiError::new(
                http::StatusCode::UNAUTHORIZED,
                codes::INVALID_SIGNATURE,
                detail,
            ),
            ProductError::Webhook(_) => ApiError::bad_request(codes::MALFORMED_WEBHOOK, detail),
            ProductError::NoSandbox => ApiError::not_found("the payment sandbox"),
            ProductError::Store(e @ StoreError::Conflict { .. }) => {
                ApiError::precondition_failed("the resource changed meanwhile; read it again")
                    .with_source(e)
            }
            ProductError::Store(e) => events::store_problem(e),
            ProductError::Peer(e) => ApiError::from(e),
            ProductError::Api(e) => e,
        }
    }
}

common::problem_response!(ProductError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<ProductError>();
    }
    use http::StatusCode;

    #[test]
    fn every_variant_maps_to_its_status_and_code() {
        let cases: Vec<(ProductError, StatusCode, &str)> = vec![
            (
                ProductError::NotFound("product p".into()),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                ProductError::IllegalTransition {
                    from: OrderStatus::Shipped,
                    to: OrderStatus::Cancelled,
                },
                StatusCode::CONFLICT,
                "illegal_transition",
            ),
            (
                ProductError::NotDeleted,
                StatusCode::CONFLICT,
                "not_deleted",
            ),
            (
                ProductError::NotOrderable,
                StatusCode::CONFLICT,
                "not_orderable",
            ),
            (
                ProductError::IdempotencyKeyRequired,
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
            ),
            (
                ProductError::Store(StoreError::InvalidCursor),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (
                SearchError::Index("gone".into()).into(),
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
            ),
            (
                SearchError::BadQuery("(".into()).into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!((api.status(), api.code().as_str()), (status, code));
        }
        assert_eq!(
            ApiError::from(ProductError::IllegalTransition {
                from: OrderStatus::Shipped,
                to: OrderStatus::Cancelled,
            })
            .to_problem()
            .detail
            .as_deref(),
            Some("an order cannot go from shipped to cancelled")
        );
        assert!(
            CODES
                .iter()
                .all(|c| common::error::is_snake_case(c.as_str()))
        );
    }
}
