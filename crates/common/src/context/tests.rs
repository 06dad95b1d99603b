//! Unit tests of `context`.

use super::*;

#[test]
fn traceparent_round_trips() {
    let s = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let tp = TraceParent::parse(s).unwrap_or_else(|| panic!("valid"));
    assert_eq!(tp.to_string(), s);
    assert_eq!(tp.header_value().unwrap_or_else(|| panic!("valid")), s);
    assert!(tp.sampled);
    let child = tp.child();
    assert_eq!(child.trace_id, tp.trace_id);
    assert_ne!(child.span_id, tp.span_id);
}

#[test]
fn invalid_traceparents_are_rejected() {
    for bad in [
        "",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ] {
        assert!(TraceParent::parse(bad).is_none(), "{bad:?} accepted");
    }
}

#[test]
fn request_ids_are_sanitised() {
    let mut h = http::HeaderMap::new();
    h.insert(&REQUEST_ID, HeaderValue::from_static("abc-123"));
    assert_eq!(RequestContext::from_headers(&h).request_id, "abc-123");
    h.insert(&REQUEST_ID, HeaderValue::from_static("bad id\twith spaces"));
    assert_ne!(
        RequestContext::from_headers(&h).request_id,
        "bad id\twith spaces"
    );
}

#[test]
fn new_request_ids_are_random_hex_and_long_ones_are_replaced() {
    let (a, b) = (RequestId::new(), RequestId::new());
    assert_ne!(a, b);
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    let mut h = http::HeaderMap::new();
    let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
    h.insert(
        &REQUEST_ID,
        HeaderValue::from_str(&long).unwrap_or_else(|e| panic!("{e}")),
    );
    let ctx = RequestContext::from_headers(&h);
    assert_ne!(ctx.request_id, long.as_str());
    assert_eq!(ctx.request_id.header_value(), ctx.request_id.as_str());
    let longest = "a".repeat(MAX_REQUEST_ID_LEN);
    for (value, kept) in [
        (longest.as_bytes(), true),
        (b"svc:1.2_3-4".as_slice(), true),
        (b"", false),
        ("caf\u{e9}".as_bytes(), false),
        (b"a/b", false),
    ] {
        h.insert(
            &REQUEST_ID,
            HeaderValue::from_bytes(value).unwrap_or_else(|e| panic!("{e}")),
        );
        let id = RequestContext::from_headers(&h).request_id;
        assert_eq!(id.as_bytes() == value, kept, "{value:?}");
    }
}

#[test]
fn only_a_bearer_authorization_is_kept_to_pass_on() {
    let mut h = http::HeaderMap::new();
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Basic dXNlcjpwYXNz"),
    );
    assert!(RequestContext::from_headers(&h).authorization.is_none());
    h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
    assert_eq!(
        RequestContext::from_headers(&h)
            .authorization
            .unwrap_or_else(|| panic!("kept")),
        "Bearer abc"
    );
}

#[test]
fn bearer_tokens_are_parsed() {
    assert_eq!(bearer_token("Bearer abc"), Some("abc"));
    assert_eq!(bearer_token("bearer abc"), Some("abc"));
    assert_eq!(bearer_token("Basic abc"), None);
    assert_eq!(bearer_token("Bearer "), None);
}
