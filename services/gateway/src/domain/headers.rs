//! What the proxy does to headers: hop-by-hop headers go both ways,
//! identity headers a client sent are dropped, and `X-Forwarded-*`, the
//! request id and a child `traceparent` are set; the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::Request;
use axum::response::Response;
use common::context::{self, RequestContext};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that describe one connection, not the message.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Cloud Run checks this one for its IAM invoker check, leaving
/// `Authorization` to the service.
pub static SERVERLESS_AUTHORIZATION: HeaderName =
    HeaderName::from_static("x-serverless-authorization");

/// Headers only the platform may set; a client's are dropped.
fn is_identity_header(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("x-user-")
        || n.starts_with("x-caller-")
        || n.starts_with("x-forwarded-")
        || n.starts_with("x-craftchain-")
        || matches!(
            n,
            "forwarded"
                | "x-real-ip"
                | "x-service-secret"
                | "x-goog-authenticated-user-email"
                | "x-serverless-authorization"
        )
}

/// Drop the hop-by-hop headers, those `Connection` names, and with
/// `identity` the identity headers a client sent. One pass over the names
/// that are there (a message usually has none to drop) rather than a
/// lookup for every name that might be.
pub(crate) fn strip(headers: &mut HeaderMap, identity: bool) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n) || (identity && is_identity_header(n)) || listed.contains(n))
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

pub(crate) fn set_forwarding(
    headers: &mut HeaderMap,
    client_ip: IpAddr,
    host: Option<HeaderValue>,
) {
    if let Some(v) = ip_header_value(client_ip) {
        headers.insert(context::CLIENT_ADDRESS.clone(), v.clone());
        headers.insert(HeaderName::from_static("x-forwarded-for"), v);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    if let Some(host) = host {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    let ids = RequestContext::with_current(|ctx| {
        (
            ctx.request_id.header_value(),
            ctx.trace.child().header_value(),
        )
    });
    if let Some((request_id, traceparent)) = ids {
        headers.insert(context::REQUEST_ID.clone(), request_id);
        if let Some(v) = traceparent {
            headers.insert(context::TRACEPARENT.clone(), v);
        }
    }
}

/// An address as a header value; IPv4 (every client on loopback or behind
/// Cloud Run's front end) without going through the formatter.
fn ip_header_value(ip: IpAddr) -> Option<HeaderValue> {
    let IpAddr::V4(v4) = ip else {
        return HeaderValue::try_from(ip.to_string()).ok();
    };
    let mut out = [0u8; 15];
    let mut len = 0;
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out[len] = b'.';
            len += 1;
        }
        let digits = [octet / 100, octet / 10 % 10, octet % 10];
        let skip = if octet >= 100 {
            0
        } else if octet >= 10 {
            1
        } else {
            2
        };
        for d in &digits[skip..] {
            out[len] = b'0' + d;
            len += 1;
        }
    }
    HeaderValue::from_bytes(&out[..len]).ok()
}

/// The client's address: the peer, or with a trusted front end the last
/// `X-Forwarded-For` entry it appended.
pub fn client_ip(request: &Request, trust_forwarded_for: bool) -> IpAddr {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    if !trust_forwarded_for {
        return peer;
    }
    request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
        .unwrap_or(peer)
}

/// Attach the rate-limit headers to any response.
pub fn with_headers(mut response: Response, headers: &[(HeaderName, HeaderValue)]) -> Response {
    for (name, value) in headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_the_standard_library_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.9.99.100",
            "255.255.255.255",
            "1.20.199.7",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_header_value(ip).unwrap(), ip.to_string().as_str());
        }
    }

    #[test]
    fn hop_by_hop_and_listed_headers_go_and_identity_headers_only_from_requests() {
        let message = || {
            let mut h = HeaderMap::new();
            for (name, value) in [
                ("connection", "keep-alive, x-secret-hop"),
                ("keep-alive", "timeout=5"),
                ("x-secret-hop", "1"),
                ("te", "trailers"),
                ("x-user-id", "admin"),
                ("forwarded", "for=6.6.6.6"),
                ("x-serverless-authorization", "Bearer forged"),
                ("accept", "application/json"),
                ("etag", "\"v1\""),
            ] {
                h.append(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            h
        };
        let mut request = message();
        strip(&mut request, true);
        let mut kept: Vec<_> = request.keys().map(HeaderName::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["accept", "etag"]);
        let mut response = message();
        strip(&mut response, false);
        let mut kept: Vec<_> = response.keys().map(HeaderName::as_str).collect();
        kept.sort_unstable();
        assert_eq!(
            kept,
            [
                "accept",
                "etag",
                "forwarded",
                "x-serverless-authorization",
                "x-user-id"
            ]
        );
    }
}
