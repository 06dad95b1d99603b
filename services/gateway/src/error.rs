//! The gateway's errors and the one place they become problems.

use std::time::Duration;

use common::{ApiError, ClientError};
use http::StatusCode;

common::problem_codes! {
    /// 504: the service did not start answering in time.
    UPSTREAM_TIMEOUT = "upstream_timeout",
    /// 502: the service could not be connected to.
    UPSTREAM_UNREACHABLE = "upstream_unreachable",
    /// 502: the service broke the exchange off.
    UPSTREAM_FAILED = "upstream_failed",
    /// 503: every connection to the service stayed busy for the whole
    /// wait; try again shortly.
    UPSTREAM_BUSY = "upstream_busy",
}

/// Everything a proxied request can fail with at the gateway.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// 404 `route_not_found`: no service serves this path.
    #[error("no such route")]
    RouteNotFound,
    /// 413 `payload_too_large`: the body is larger than the route allows.
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(u64),
    /// 503 `unavailable`: the service's breaker is open, or no ID token
    /// could be had for it.
    #[error("the {upstream} service is unavailable")]
    UpstreamUnavailable {
        upstream: &'static str,
        retry_after: Duration,
    },
    /// 503 `upstream_busy` with `Retry-After`: the service is full, not
    /// down (its breaker is not touched).
    #[error("the {upstream} service is busy; try again shortly")]
    UpstreamBusy {
        upstream: &'static str,
        /// When the refusal may be sent (it is paced).
        pace_until: tokio::time::Instant,
    },
    /// 504 `upstream_timeout`.
    #[error("the {0} service did not answer in time")]
    UpstreamTimeout(&'static str),
    /// 502 `upstream_unreachable`.
    #[error("the {0} service cannot be reached")]
    UpstreamUnreachable(&'static str),
    /// 502 `upstream_failed` (the cause is logged, never sent).
    #[error("the {upstream} service failed to answer")]
    UpstreamFailed {
        upstream: &'static str,
        #[source]
        source: anyhow::Error,
    },
    /// Any problem already shaped (401 from token checks, 429 from limits).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// 503 `unavailable` or 502 `bad_gateway`: a call the gateway makes
    /// for itself failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// 500 `internal`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<GatewayError> for ApiError {
    fn from(err: GatewayError) -> Self {
        let detail = err.to_string();
        match err {
            GatewayError::RouteNotFound => ApiError::route_not_found(),
            GatewayError::BodyTooLarge(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                common::error::codes::PAYLOAD_TOO_LARGE,
                detail,
            ),
            GatewayError::UpstreamUnavailable { retry_after, .. } => {
                ApiError::unavailable(retry_after, detail)
            }
            GatewayError::UpstreamBusy { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::UPSTREAM_BUSY,
                detail,
            )
            .with_header(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            ),
            GatewayError::UpstreamTimeout(_) => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, codes::UPSTREAM_TIMEOUT, detail)
            }
            GatewayError::UpstreamUnreachable(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, codes::UPSTREAM_UNREACHABLE, detail)
            }
            GatewayError::UpstreamFailed { source, .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, codes::UPSTREAM_FAILED, detail)
                    .with_source(source)
            }
            GatewayError::Api(api) => api,
            GatewayError::Client(e) => e.into(),
            GatewayError::Internal(e) => ApiError::internal(e),
        }
    }
}

common::problem_response!(GatewayError);
