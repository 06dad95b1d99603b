//! The notification service's one error type and where it becomes a
//! problem.

use axum::http::StatusCode;
use common::{ApiError, FieldError};

use crate::domain::ssrf::Refused;
use crate::domain::templates::RenderError;

common::problem_codes! {
    /// 409: only a failed message can be sent again.
    NOT_REPLAYABLE = "not_replayable",
    /// 409: the user has as many webhook endpoints as allowed.
    TOO_MANY_ENDPOINTS = "too_many_endpoints",
}

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// 422 naming each variable the data lacks (`data.<name>`), or `data`
    /// when the template fails on it. `field` prefixes them (`items[3].`).
    #[error("{source}")]
    Render { field: String, source: RenderError },
    /// 422 naming `template`.
    #[error("there is no template named {name:?}")]
    UnknownTemplate { field: String, name: String },
    /// 422 naming `url`.
    #[error("this URL may not receive webhooks: {0}")]
    Refused(Refused),
    /// 409 `not_replayable`.
    #[error("message {0} is {1}: only a failed message can be sent again")]
    NotReplayable(String, String),
    /// 409 `too_many_endpoints`.
    #[error("at most {0} webhook endpoints per user")]
    TooManyEndpoints(usize),
    /// Shaped already (401/403/404/422).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The shared answer of [`events::store_problem`]: 503 while the store
    /// is down, otherwise 500 `internal`.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl From<NotificationError> for ApiError {
    fn from(err: NotificationError) -> Self {
        let detail = err.to_string();
        match err {
            NotificationError::Render { field, source } => match source {
                RenderError::Missing(names) => ApiError::validation(
                    names
                        .iter()
                        .map(|n| {
                            FieldError::new(
                                format!("{field}data.{n}"),
                                "missing_variable",
                                format!("the template uses {n}, which the data lacks"),
                            )
                        })
                        .collect(),
                ),
                RenderError::Failed(why) => {
                    ApiError::invalid_field(&format!("{field}data"), "unrenderable", why)
                }
            },
            NotificationError::UnknownTemplate { field, .. } => {
                ApiError::invalid_field(&format!("{field}template"), "unknown", detail)
            }
            NotificationError::Refused(_) => ApiError::invalid_field("url", "not_allowed", detail),
            NotificationError::NotReplayable(..) => {
                ApiError::new(StatusCode::CONFLICT, codes::NOT_REPLAYABLE, detail)
            }
            NotificationError::TooManyEndpoints(_) => {
                ApiError::new(StatusCode::CONFLICT, codes::TOO_MANY_ENDPOINTS, detail)
            }
            NotificationError::Api(e) => e,
            NotificationError::Store(e) => events::store_problem(e),
        }
    }
}

common::problem_response!(NotificationError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<NotificationError>();
    }
}
