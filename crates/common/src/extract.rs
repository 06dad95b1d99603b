//! Request extractors whose rejections are problem+json: `Json`, `Query` and
//! `Path`. Deserialisation errors name the offending field (through
//! `serde_path_to_error`), so a client learns which field to fix.

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError, codes};

/// A JSON body. Requires `Content-Type: application/json`; a body over the
/// limit is 413, malformed JSON 400, a wrong, missing or unknown field 422
/// naming the field. As a response it serialises `T` as JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Bodies larger than this are parsed on a blocking thread: parsing (and
/// refusing) a body near the 1 MB limit takes milliseconds of CPU, which
/// must not stall the async workers' other requests.
pub const INLINE_PARSE_BYTES: usize = 64 * 1024;

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned + Send + 'static,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                "expected a body with Content-Type: application/json",
            ));
        }
        let bytes = bytes::Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.len() > INLINE_PARSE_BYTES {
            return tokio::task::spawn_blocking(move || parse_json(&bytes))
                .await
                .map_err(ApiError::internal)?
                .map(Json);
        }
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
    } else {
        ApiError::bad_request(codes::UNREADABLE_BODY, "the request body could not be read")
    }
}

/// Deserialise a JSON document, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        // A data error in a document that is not even valid JSON is a
        // syntax problem first (checked only on this error path).
        let valid = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() || !valid {
            ApiError::bad_request(
                codes::MALFORMED_JSON,
                format!(
                    "the body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                ),
            )
        } else {
            ApiError::validation(vec![field_error(&path, &inner.to_string())])
        }
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request(
            codes::MALFORMED_JSON,
            format!(
                "the body has data after its JSON document (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    Ok(value)
}

/// Turn a serde message at `path` into a field error, pointing at the
/// missing or unknown field itself rather than its parent.
fn field_error(path: &str, message: &str) -> FieldError {
    let message = strip_position(message);
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = between(message, "missing field `", "`") {
        return FieldError::new(join(name), "required", "this field is required");
    }
    if let Some(name) = between(message, "unknown field `", "`") {
        return FieldError::new(
            join(name),
            "unknown_field",
            "this field is not accepted here",
        );
    }
    let field = if path.is_empty() || path == "." {
        "body"
    } else {
        path
    };
    if let Some((code, text)) = crate::bounded::ours(message) {
        return FieldError::new(field, code, text);
    }
    let (code, text) = our_wording(message);
    FieldError::new(field, code, text)
}

/// A library's (serde's) message about a value, in our own words: what is
/// wrong, never the library's internals (type names, accepted variants).
fn our_wording(message: &str) -> (&'static str, &'static str) {
    let expected = message.split_once("expected ").map_or("", |(_, e)| e);
    if message.starts_with("invalid type:") {
        let text = if expected.contains("string") {
            "must be a string"
        } else if expected.starts_with('i')
            || expected.starts_with('u')
            || expected.contains("integer")
        {
            "must be an integer"
        } else if expected.starts_with('f') || expected.contains("number") {
            "must be a number"
        } else if expected.contains("bool") {
            "must be true or false"
        } else if expected.contains("sequence") || expected.contains("list") {
            "must be a list"
        } else if expected.contains("map")
            || expected.contains("struct")
            || expected.contains("object")
        {
            "must be an object"
        } else {
            "has the wrong type"
        };
        return ("invalid", text);
    }
    if message.starts_with("unknown variant") {
        return ("invalid", "is not one of the accepted values");
    }
    if message.starts_with("invalid length") {
        return ("invalid", "has the wrong number of items");
    }
    if message.starts_with("duplicate field") {
        return ("duplicate_field", "appears more than once");
    }
    if message.contains("out of range") {
        return ("out_of_range", "is out of range");
    }
    ("invalid", "is not a valid value")
}

fn strip_position(message: &str) -> &str {
    message.rsplit_once(" at line ").map_or(message, |(m, _)| m)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.split_once(start)?.1;
    Some(rest.split_once(end)?.0)
}

/// Query parameters. An unknown parameter (with `deny_unknown_fields`), a
/// wrong type or a missing required one is 422 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// The longest query string read (every parameter a route takes fits in a
/// fraction of it).
pub const MAX_QUERY_BYTES: usize = 4096;

/// Deserialise a query string, naming the offending parameter on failure.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(ApiError::validation(vec![FieldError::new(
            "query",
            "too_long",
            format!("the query string must be at most {MAX_QUERY_BYTES} bytes"),
        )]));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        ApiError::validation(vec![field_error(&path, &message)])
    })
}

fn form_urlencoded_parse(query: &str) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(query.as_bytes())
}

/// Path parameters; a value of the wrong shape is 404 (the resource cannot
/// exist), a missing one 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|rejection| match rejection {
                PathRejection::FailedToDeserializePathParams(_) => {
                    ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such resource")
                }
                _ => ApiError::bad_request(codes::BAD_PATH, "the path cannot be read"),
            })
    }
}

/// A `multipart/form-data` body, read field by field. A request that is not
/// one (no such `Content-Type`, no boundary) is 415, like a JSON route
/// given something else.
pub struct Multipart(pub axum::extract::Multipart);

impl<S> FromRequest<S> for Multipart
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Multipart)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    codes::UNSUPPORTED_MEDIA_TYPE,
                    "expected a body with Content-Type: multipart/form-data and a boundary",
                )
            })
    }
}

/// Fallback for unknown routes: 404 problem+json.
pub async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

/// Fallback for a known route with the wrong method: 405 problem+json.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        "this route does not accept that method",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        price: Price,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Price {
        amount: i64,
    }

    fn field_of(err: &ApiError) -> (&str, &str) {
        let e = &err.field_errors()[0];
        (e.field.as_str(), e.code.as_str())
    }

    #[test]
    fn missing_nested_field_is_named() {
        let err = parse_json::<Body>(br#"{"title":"x","price":{}}"#).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field_of(&err), ("price.amount", "required"));
    }

    #[test]
    fn wrong_type_and_unknown_fields_are_named() {
        let err = parse_json::<Body>(br#"{"title":"x","price":{"amount":"12"}}"#).unwrap_err();
        assert_eq!(field_of(&err), ("price.amount", "invalid"));
        let err =
            parse_json::<Body>(br#"{"title":"x","price":{"amount":1},"owner":"me"}"#).unwrap_err();
        assert_eq!(field_of(&err), ("owner", "unknown_field"));
    }

    #[test]
    fn malformed_json_is_400() {
        for bad in [&b"{"[..], b"nope", b"{\"title\":\"x\"} trailing", b""] {
            let err = parse_json::<Body>(bad).unwrap_err();
            assert_eq!(
                err.status(),
                StatusCode::BAD_REQUEST,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        limit: Option<u32>,
    }

    #[test]
    fn bad_query_parameters_are_named() {
        let err = parse_query::<Params>("limit=abc").unwrap_err();
        assert_eq!(field_of(&err), ("limit", "invalid"));
        let err = parse_query::<Params>("limt=3").unwrap_err();
        assert_eq!(field_of(&err), ("limt", "unknown_field"));
        assert!(parse_query::<Params>("limit=3").is_ok());
    }
}
