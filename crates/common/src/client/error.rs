//! What a call to another service can fail with, and what that becomes
//! for the caller's own client when nothing more specific applies.

use std::time::Duration;

use http::StatusCode;

use crate::error::{ApiError, Problem, codes};

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error status (its problem, or one
    /// made from the status when the body was not a problem).
    #[error("{service} answered {status}: {}", problem.detail.as_deref().unwrap_or(&problem.title))]
    Problem {
        service: &'static str,
        status: StatusCode,
        problem: Box<Problem>,
    },
    /// The service could not be reached, or kept answering 502/503/504.
    #[error("{service} is unavailable: {reason}")]
    Unavailable {
        service: &'static str,
        reason: String,
    },
    /// The answer was not what the caller expects.
    #[error("{service} sent an unexpected body: {reason}")]
    Decode {
        service: &'static str,
        reason: String,
    },
    /// This service could not obtain a token to call with.
    #[error("no token to call {service}: {reason}")]
    Token {
        service: &'static str,
        reason: String,
    },
}

impl ClientError {
    /// The status the other service answered, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Problem { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

impl From<ClientError> for ApiError {
    /// The default translation: the dependency is down → 503; anything else
    /// unexpected from it → 502. Callers translate the statuses they expect
    /// (a 404 of a referenced resource, say) before falling back to this.
    fn from(err: ClientError) -> Self {
        match &err {
            ClientError::Unavailable { service, .. } => ApiError::unavailable(
                Duration::from_secs(2),
                format!("the {service} service is unavailable"),
            )
            .with_source(err),
            ClientError::Problem {
                service, status, ..
            } if status.is_server_error() => ApiError::unavailable(
                Duration::from_secs(2),
                format!("the {service} service is unavailable"),
            )
            .with_source(err),
            _ => ApiError::new(
                StatusCode::BAD_GATEWAY,
                codes::BAD_GATEWAY,
                "a dependency answered unexpectedly",
            )
            .with_source(err),
        }
    }
}
