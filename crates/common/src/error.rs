//! `ApiError`: the one error every handler returns, rendered as RFC 9457
//! `application/problem+json` with a stable machine-readable `code`, the
//! request id and, for validation, one entry per offending field.
//!
//! Server errors log their whole chain once and send a generic detail, so no
//! internal text reaches a client.

use std::fmt;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::context::RequestContext;

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

mod code;

pub use code::{Code, codes, is_snake_case};

/// The wire shape of a problem (RFC 9457, plus `code`, `request_id`, `errors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:craftchain:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable, machine-readable code, e.g. `validation_failed`.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For validation problems: one entry per offending field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Problem-specific members (RFC 9457 extensions), e.g. the existing
    /// resource of a 409.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `price.amount` or `materials[2]`.
    pub field: String,
    /// Stable code, e.g. `required`, `too_long`, `invalid`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The error every handler returns.
pub struct ApiError {
    status: StatusCode,
    code: Code,
    detail: Option<String>,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Boxed: most errors have none, and `Result<_, ApiError>` stays small.
    extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    /// The cause of a server error, logged and never sent.
    source: Option<anyhow::Error>,
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("detail", &self.detail)
            .field("errors", &self.errors)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// A client error with a stable code and a human-readable detail.
    pub fn new(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: Some(detail.into()),
            errors: Vec::new(),
            headers: Vec::new(),
            extensions: None,
            source: None,
        }
    }

    /// 400 for a request that cannot be understood at all.
    pub fn bad_request(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 422 naming the offending fields (the first [`MAX_FIELD_ERRORS`]).
    pub fn validation(mut errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many if many.len() > MAX_FIELD_ERRORS => format!(
                "{} fields are invalid; the first {MAX_FIELD_ERRORS} are listed",
                many.len()
            ),
            many => format!("{} fields are invalid", many.len()),
        };
        errors.truncate(MAX_FIELD_ERRORS);
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::VALIDATION_FAILED,
                detail,
            )
        }
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED, detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// 403: authenticated, but not allowed to do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, detail)
    }

    /// 404: no route has this path.
    pub fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            codes::ROUTE_NOT_FOUND,
            "no such route",
        )
    }

    /// 404 for a named thing.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("{what} not found"),
        )
    }

    /// 409 with a stable code.
    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 412 for a stale `If-Match`.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            codes::PRECONDITION_FAILED,
            detail,
        )
    }

    /// 428 when `If-Match` (or another required precondition) is missing.
    pub fn precondition_required(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            codes::PRECONDITION_REQUIRED,
            detail,
        )
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after: Duration, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED, detail)
            .retry_after(retry_after)
    }

    /// 503 with `Retry-After`: a dependency is down; the request changed nothing.
    pub fn unavailable(retry_after: Duration, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, codes::UNAVAILABLE, detail)
            .retry_after(retry_after)
    }

    /// 500: logs `source` with its chain, sends a generic detail.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                "An internal error occurred; quote the request id when reporting it.",
            )
        }
    }

    /// Attach a cause that is logged (for any status) but never sent.
    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds a member to the problem body (an RFC 9457 extension). A value
    /// that cannot be serialised is never sent as `null`: the error becomes
    /// a 500 that logs why.
    pub fn with_extension(mut self, name: &str, value: &impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => {
                self.extensions
                    .get_or_insert_default()
                    .insert(name.to_owned(), value);
                self
            }
            Err(e) => ApiError::internal(
                anyhow::Error::new(e).context(format!("serialising the problem member {name:?}")),
            ),
        }
    }

    pub fn retry_after(self, after: Duration) -> Self {
        // Round up: a client that waits exactly this long must be let in.
        let secs = (after.as_secs() + u64::from(after.subsec_nanos() > 0)).max(1);
        self.with_header(header::RETRY_AFTER, HeaderValue::from(secs))
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The body this error renders to.
    pub fn to_problem(&self) -> Problem {
        Problem {
            type_uri: format!("urn:craftchain:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
            request_id: RequestContext::current_request_id(),
            errors: self.errors.clone(),
            extensions: self.extensions.as_deref().cloned().unwrap_or_default(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => tracing::error!(
                    status = self.status.as_u16(),
                    code = self.code.as_str(),
                    error = format!("{source:#}"),
                    "request failed"
                ),
                None => tracing::error!(
                    status = self.status.as_u16(),
                    code = self.code.as_str(),
                    detail = self.detail.as_deref().unwrap_or(""),
                    "request failed"
                ),
            }
        } else if let Some(source) = &self.source {
            tracing::debug!(
                status = self.status.as_u16(),
                error = format!("{source:#}"),
                "request refused"
            );
        }
        problem_response(self.status, &self.to_problem(), self.headers)
    }
}

/// Render a problem body with its status and extra headers.
pub fn problem_response(
    status: StatusCode,
    problem: &Problem,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    for (name, value) in headers {
        h.insert(name, value);
    }
    response
}

/// The most field errors a problem lists: a request with a million bad
/// elements gets a bounded answer (and a bounded amount of work making it).
pub const MAX_FIELD_ERRORS: usize = 20;

/// Collects field errors, then fails with one 422 naming them (the first
/// [`MAX_FIELD_ERRORS`]; the rest are counted, not built).
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
    /// Errors past the listed ones.
    more: usize,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record an error for `field` unless `ok`.
    pub fn check(
        &mut self,
        ok: bool,
        field: &str,
        code: &str,
        message: impl Into<String>,
    ) -> &mut Self {
        if !ok {
            self.push(FieldError::new(field, code, message));
        }
        self
    }

    /// Like [`check`](Self::check), building the message only when it is
    /// needed.
    pub fn check_with(
        &mut self,
        ok: bool,
        field: &str,
        code: &str,
        message: impl FnOnce() -> String,
    ) -> &mut Self {
        if !ok {
            if self.errors.len() < MAX_FIELD_ERRORS {
                self.errors.push(FieldError::new(field, code, message()));
            } else {
                self.more += 1;
            }
        }
        self
    }

    pub fn push(&mut self, error: FieldError) -> &mut Self {
        if self.errors.len() < MAX_FIELD_ERRORS {
            self.errors.push(error);
        } else {
            self.more += 1;
        }
        self
    }

    /// Whether a list of `len` items fits in `max`; records `too_many` if
    /// not, and the caller skips the per-item checks.
    pub fn items(&mut self, field: &str, len: usize, max: usize) -> bool {
        self.check_with(len <= max, field, "too_many", || {
            format!("must have at most {max} items")
        });
        len <= max
    }

    /// Check a string's length in characters (at most four bytes each: a
    /// longer string is refused without counting).
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let n = if value.len() > max.saturating_mul(4) {
            usize::MAX
        } else {
            value.trim().chars().count()
        };
        if n < min {
            let message = if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            };
            self.check(
                false,
                field,
                if min == 1 { "required" } else { "too_short" },
                message,
            )
        } else {
            self.check(
                n <= max,
                field,
                "too_long",
                format!("must be at most {max} characters"),
            )
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else the 422.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let listed = std::mem::take(&mut self.errors);
        let total = listed.len() + std::mem::take(&mut self.more);
        let mut error = ApiError::validation(listed);
        if total > MAX_FIELD_ERRORS {
            error.detail = Some(format!(
                "{total} fields are invalid; the first {MAX_FIELD_ERRORS} are listed"
            ));
        }
        Err(error)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
