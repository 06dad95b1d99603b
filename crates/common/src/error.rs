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

/// A stable, machine-readable problem code: snake_case ASCII (words of
/// `[a-z0-9]` joined by single `_`, starting with a letter). Codes are
/// constants, so a code of any other shape fails to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    /// `code`, which must be snake_case (checked at compile time in a `const`).
    pub const fn new(code: &'static str) -> Code {
        assert!(is_snake_case(code), "a problem code must be snake_case");
        Code(code)
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Whether `code` is snake_case: lowercase ASCII words of letters and
/// digits joined by single underscores, starting with a letter.
pub const fn is_snake_case(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 {
        return false;
    }
    let mut i = 0;
    let mut word_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'_' {
            if word_start {
                return false;
            }
            word_start = true;
        } else if (i == 0 && !b.is_ascii_lowercase())
            || !(b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return false;
        } else {
            word_start = false;
        }
        i += 1;
    }
    !word_start
}

/// The codes every service may answer with (the request pipeline's, the
/// extractors' and the shared helpers').
pub mod codes {
    use super::Code;

    pub const VALIDATION_FAILED: Code = Code::new("validation_failed");
    pub const UNAUTHENTICATED: Code = Code::new("unauthenticated");
    pub const FORBIDDEN: Code = Code::new("forbidden");
    pub const ROUTE_NOT_FOUND: Code = Code::new("route_not_found");
    pub const METHOD_NOT_ALLOWED: Code = Code::new("method_not_allowed");
    pub const NOT_FOUND: Code = Code::new("not_found");
    pub const CONFLICT: Code = Code::new("conflict");
    pub const PRECONDITION_FAILED: Code = Code::new("precondition_failed");
    pub const PRECONDITION_REQUIRED: Code = Code::new("precondition_required");
    pub const RATE_LIMITED: Code = Code::new("rate_limited");
    pub const UNAVAILABLE: Code = Code::new("unavailable");
    pub const INTERNAL: Code = Code::new("internal");
    pub const BAD_GATEWAY: Code = Code::new("bad_gateway");
    pub const UNSUPPORTED_MEDIA_TYPE: Code = Code::new("unsupported_media_type");
    pub const PAYLOAD_TOO_LARGE: Code = Code::new("payload_too_large");
    pub const UNREADABLE_BODY: Code = Code::new("unreadable_body");
    pub const MALFORMED_JSON: Code = Code::new("malformed_json");
    pub const BAD_PATH: Code = Code::new("bad_path");

    /// Every code above.
    pub const ALL: &[Code] = &[
        VALIDATION_FAILED,
        UNAUTHENTICATED,
        FORBIDDEN,
        ROUTE_NOT_FOUND,
        METHOD_NOT_ALLOWED,
        NOT_FOUND,
        CONFLICT,
        PRECONDITION_FAILED,
        PRECONDITION_REQUIRED,
        RATE_LIMITED,
        UNAVAILABLE,
        INTERNAL,
        BAD_GATEWAY,
        UNSUPPORTED_MEDIA_TYPE,
        PAYLOAD_TOO_LARGE,
        UNREADABLE_BODY,
        MALFORMED_JSON,
        BAD_PATH,
    ];
}

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

    /// 422 naming every offending field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
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

/// Collects field errors, then fails with one 422 naming them all.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
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
            self.errors.push(FieldError::new(field, code, message));
        }
        self
    }

    pub fn push(&mut self, error: FieldError) -> &mut Self {
        self.errors.push(error);
        self
    }

    /// Check a string's length in characters.
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let n = value.trim().chars().count();
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
            Ok(())
        } else {
            Err(ApiError::validation(std::mem::take(&mut self.errors)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(response: Response) -> (StatusCode, http::HeaderMap, Problem) {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn validation_errors_render_as_problem_json_with_fields() {
        let mut v = Validator::new();
        v.length("title", "", 1, 10)
            .check(false, "price.amount", "out_of_range", "too big");
        let err = v.finish().unwrap_err();
        let ctx = RequestContext::new_root();
        let id = ctx.request_id.to_string();
        let (status, headers, problem) = ctx
            .scope(async { body_of(err.into_response()).await })
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(problem.code, "validation_failed");
        assert_eq!(problem.type_uri, "urn:craftchain:problem:validation_failed");
        assert_eq!(problem.request_id.as_deref(), Some(id.as_str()));
        let fields: Vec<_> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "price.amount"]);
    }

    #[tokio::test]
    async fn internal_errors_never_leak_their_cause() {
        let err = ApiError::internal(anyhow::anyhow!("disk /secret/path is full"));
        let (status, _, problem) = body_of(err.into_response()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!problem.detail.unwrap().contains("secret"));
    }

    #[test]
    fn codes_are_snake_case() {
        for good in ["a", "not_found", "http_404", "a_1b", "payment_in_progress"] {
            assert!(is_snake_case(good), "{good}");
        }
        for bad in [
            "",
            "A",
            "payment-in-progress",
            "_a",
            "a_",
            "a__b",
            "1a",
            "notFound",
            "a b",
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
        for code in codes::ALL {
            assert!(is_snake_case(code.as_str()));
        }
    }

    #[tokio::test]
    async fn unserialisable_extensions_are_server_errors_not_nulls() {
        struct Broken;
        impl Serialize for Broken {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("broken"))
            }
        }
        let err = ApiError::conflict(codes::CONFLICT, "taken").with_extension("thing", &Broken);
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let ok = ApiError::conflict(codes::CONFLICT, "taken").with_extension("thing", &[1, 2]);
        assert_eq!(
            ok.to_problem().extensions["thing"],
            serde_json::json!([1, 2])
        );
    }

    #[tokio::test]
    async fn unauthorized_carries_www_authenticate_and_retry_after_is_set() {
        let (_, headers, _) = body_of(ApiError::unauthorized("no token").into_response()).await;
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        let (status, headers, _) =
            body_of(ApiError::unavailable(Duration::from_secs(5), "down").into_response()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "5");
    }
}
