//! Conditional requests: the `ETag` of a read is the resource's version,
//! and an update names the version it read in `If-Match` (RFC 9110 §13).

use http::{HeaderMap, HeaderValue, header};

use crate::error::ApiError;

/// The strong `ETag` of a version.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// The version `If-Match` names: `None` when absent, 412 when it names
/// no version (so it can never match).
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::precondition_failed("If-Match does not name a version of this resource")
        })
}

/// `If-Match` where an update requires it: 428 when absent.
pub fn required_if_match(headers: &HeaderMap) -> Result<i64, ApiError> {
    if_match(headers)?.ok_or_else(|| {
        ApiError::precondition_required("updates need If-Match with the ETag of a read")
    })
}

/// Whether `If-None-Match` names this version (→ 304).
pub fn not_modified(headers: &HeaderMap, version: i64) -> bool {
    let current = etag(version);
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || t.trim().as_bytes() == current.as_bytes())
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_round_trip_through_the_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h).unwrap(), None);
        assert!(required_if_match(&h).is_err());
        h.insert(header::IF_MATCH, etag(7));
        assert_eq!(if_match(&h).unwrap(), Some(7));
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"8\""));
        assert_eq!(required_if_match(&h).unwrap(), 8);
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"abc\""));
        assert!(if_match(&h).is_err());
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"3\", \"4\""),
        );
        assert!(not_modified(&h, 4));
        assert!(!not_modified(&h, 5));
    }
}
