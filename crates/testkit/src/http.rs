//! What HTTP tests assert about an answer: its status, its JSON body, and
//! problem+json errors naming their fields. One `TestResponse` for every
//! service's test suite, and the request builders the harness uses.

use axum::body::Body;
use bytes::Bytes;
use common::Problem;
use http::{HeaderMap, Method, Request, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// An answer, with its raw bytes and (for JSON answers) the parsed body.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
    /// The body as JSON; `Null` when empty or not JSON.
    pub body: Value,
}

impl TestResponse {
    /// An answer: a body whose `Content-Type` says JSON must parse (or the
    /// test fails) and is kept in `body`; any other body is `Null` there.
    #[track_caller]
    pub fn new(status: StatusCode, headers: HeaderMap, bytes: Bytes) -> Self {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                let t = t.split(';').next().unwrap_or_default().trim();
                t == "application/json" || t.ends_with("+json")
            });
        let body = if bytes.is_empty() || !is_json {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{status}: the body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Self {
            status,
            headers,
            bytes,
            body,
        }
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Checks the status; the response again, to read on.
    #[track_caller]
    pub fn assert_status(&self, expected: StatusCode) -> &Self {
        assert_eq!(
            self.status,
            expected,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// The body as `T`.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("{}: unexpected body ({e}): {}", self.status, self.text()))
    }

    /// The body as a problem, checking the media type.
    #[track_caller]
    pub fn problem(&self) -> Problem {
        assert_eq!(
            self.header(header::CONTENT_TYPE.as_str()),
            Some(common::error::PROBLEM_JSON),
            "not a problem: {}",
            self.text()
        );
        self.json()
    }

    /// Assert the status, the media type and the problem code; returns the problem.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, code: &str) -> Problem {
        self.assert_status(status);
        let problem = self.problem();
        assert_eq!(problem.code, code, "unexpected code: {}", self.text());
        assert_eq!(problem.status, status.as_u16());
        problem
    }

    /// Assert a 422 naming exactly `fields`, in any order; returns the problem.
    #[track_caller]
    pub fn assert_invalid_fields(&self, fields: &[&str]) -> Problem {
        let problem = self.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let mut named: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        named.sort_unstable();
        named.dedup();
        let mut expected = fields.to_vec();
        expected.sort_unstable();
        assert_eq!(named, expected, "unexpected fields: {}", self.text());
        problem
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `ETag` header; fails the test without one.
    #[track_caller]
    pub fn etag(&self) -> String {
        self.header("etag")
            .unwrap_or_else(|| panic!("no ETag: {:?}", self.headers))
            .to_owned()
    }
}

/// The code of the field error about `field`.
#[track_caller]
pub fn field_code<'a>(problem: &'a Problem, field: &str) -> &'a str {
    problem
        .errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.code.as_str())
        .unwrap_or_else(|| panic!("no error about {field}: {problem:?}"))
}

/// A request builder with an optional bearer token.
pub fn request(method: Method, path: &str, token: Option<&str>) -> http::request::Builder {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
}

/// The request with `body` as JSON.
pub fn json(builder: http::request::Builder, body: &impl Serialize) -> Request<Body> {
    let bytes = serde_json::to_vec(body).expect("a body that serialises");
    builder
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(bytes))
        .expect("a valid request")
}

/// The request with no body.
pub fn empty(builder: http::request::Builder) -> Request<Body> {
    builder.body(Body::empty()).expect("a valid request")
}
