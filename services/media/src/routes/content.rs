//! `GET /media/{id}/content/{variant}`: streams a variant with its type, a
//! strong ETag and immutable caching; `If-None-Match` → 304; one `Range`
//! → 206. The original is private and never served.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{ApiError, Caller, Id, Path};
use futures::TryStreamExt as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::Library;
use crate::error::{MediaError, codes};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(content))
}

/// A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range over `size` bytes.
fn parse_range(value: &str, size: u64) -> Option<Result<std::ops::Range<u64>, ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // several ranges: answer the whole object
    }
    let (start, end) = spec.split_once('-')?;
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            if n == 0 {
                return Some(Err(()));
            }
            size.saturating_sub(n)..size
        }
        (start, "") => start.parse().ok()?..size,
        (start, end) => {
            let (s, e): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
            if e < s {
                return None;
            }
            s..e.saturating_add(1).min(size)
        }
    };
    if range.start >= size || range.is_empty() {
        Some(Err(()))
    } else {
        Some(Ok(range))
    }
}

/// The bytes of one variant: public, and cacheable for good, once an
/// active product uses the media; until then only to its owner, admins and
/// services (with a bearer token), and never cached (else 404).
#[utoipa::path(get, path = "/media/{id}/content/{variant}", tag = "media",
    params(("id" = Id, Path),
        ("variant" = String, Path, pattern = "^(thumb|medium|large|w[0-9]{2,4}q[0-9]{1,3})\\.(webp|jpg)$",
            description = "A variant's name, as listed by `GET /media/{id}`: `thumb`, `medium`, \
                `large` or `w{px}q{quality}`, then `.webp` or `.jpg` (e.g. thumb.webp, w640q82.jpg). \
                The original is never served."),
        ("If-None-Match" = Option<String>, Header, nullable = false,
            description = "`ETag`s held (or `*`): 304 when one is this variant's."),
        ("Range" = Option<String>, Header, nullable = false,
            description = "One range, `bytes=a-b`, `bytes=a-` or `bytes=-n` (206); several, or a \
                malformed one, get the whole image.")),
    responses(
        (status = 200, description = "the image", content(
            ("image/webp"), ("image/jpeg")),
            headers(("ETag" = String), ("Cache-Control" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "the range asked for", content(
            ("image/webp"), ("image/jpeg")),
            headers(("ETag" = String), ("Content-Range" = String))),
        (status = 304, description = "not modified", headers(("ETag" = String))),
        (status = 404, description = "no such media or variant, or not yet used by an active \
            product and the caller is not its owner"),
        (status = 416, description = "the range is outside the image",
            headers(("Content-Range" = String, description = "`bytes */{size}`")))))]
async fn content(
    State(library): State<Library>,
    caller: Option<Caller>,
    Path((id, name)): Path<(Id, String)>,
    headers: HeaderMap,
) -> Result<Response, MediaError> {
    let (variant, published) = library.variant(&id, &name, caller.as_ref()).await?;
    let etag = format!("\"{}\"", variant.sha256);
    let mut response_headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, v);
    }
    // A variant's name fixes its bytes: it is derived deterministically
    // from the original with the size, format and quality its name encodes
    // (`thumb` etc. are 300/800/1600 px at quality 82; re-optimised ones are
    // `w{px}q{quality}`), so caches may keep it for good.
    // Media no active product uses yet is its owner's only: no shared
    // cache may keep it.
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if published {
            "public, max-age=31536000, immutable"
        } else {
            "private, no-store"
        }),
    );
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&variant.content_type) {
        response_headers.insert(header::CONTENT_TYPE, v);
    }
    response_headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
            v.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == etag
            })
        });
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let requested = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, variant.bytes));
    let range = match requested {
        Some(Err(())) => {
            // A problem like every other refusal, with the size to ask within.
            let mut refused = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                codes::RANGE_NOT_SATISFIABLE,
                format!("the range is outside the image's {} bytes", variant.bytes),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", variant.bytes)) {
                refused = refused.with_header(header::CONTENT_RANGE, v);
            }
            return Err(refused.into());
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    let blob = library.variant_bytes(&id, &name, range.clone()).await?;
    let status = if range.is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{}",
            blob.range.start,
            blob.range.end - 1,
            blob.size
        )) {
            response_headers.insert(header::CONTENT_RANGE, v);
        }
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    response_headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(blob.range.end - blob.range.start),
    );
    let body = Body::from_stream(blob.stream.map_err(std::io::Error::other));
    Ok((status, response_headers, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_parse_per_rfc_9110() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok(0..10)));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok(90..100)));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok(90..100)));
        assert_eq!(parse_range("bytes=95-200", 100), Some(Ok(95..100)));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=9-1", 100), None);
    }
}
