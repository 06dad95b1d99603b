//! The streaming proxy. Bodies stream both ways (never buffered), so a
//! 50 MB upload passes in bounded memory; hop-by-hop headers are dropped,
//! identity headers a client sent are stripped, `X-Forwarded-*`, the
//! request id and a child `traceparent` are set, and on Cloud Run the
//! gateway's ID token for the service (`X-Serverless-Authorization`, which
//! Cloud Run checks before the service sees `Authorization`). Each
//! upstream has a circuit breaker; an upstream that does not start
//! answering in time is abandoned (the call is cancelled) with 504.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use common::ApiError;
use common::context::{self, RequestContext};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use url::Url;

use crate::breaker::{Admit, Breaker};
use crate::config::Settings;
use crate::pool::{Pool, PoolError};

/// One service behind the gateway.
pub struct Upstream {
    pub name: &'static str,
    /// Its origin: the audience of the ID token it is called with on
    /// Cloud Run.
    pub audience: String,
    pool: Pool,
    pub breaker: Breaker,
}

impl Upstream {
    /// `tls` is the client configuration for an `https://` base.
    pub fn new(
        name: &'static str,
        base: &Url,
        tls: Option<Arc<ClientConfig>>,
        settings: &Settings,
    ) -> anyhow::Result<Self> {
        let uri: Uri = base.as_str().parse()?;
        let tls = match uri.scheme_str() {
            Some("http") => None,
            Some("https") => Some(tls.ok_or_else(|| {
                anyhow::anyhow!("upstream {name}: no TLS configuration for {base}")
            })?),
            _ => anyhow::bail!("upstream {name}: expected an http:// or https:// URL, got {base}"),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow::anyhow!("upstream {name} has no host"))?;
        Ok(Self {
            name,
            audience: base.origin().ascii_serialization(),
            pool: Pool::new(
                authority,
                tls,
                Duration::from_millis(settings.connect_timeout_ms),
                512,
            )?,
            breaker: Breaker::new(
                settings.breaker_failures,
                Duration::from_millis(settings.breaker_open_ms),
                Duration::from_millis(settings.breaker_max_open_ms),
            ),
        })
    }

    /// Send `request` (origin form) on one of its connections.
    pub async fn send(
        &self,
        request: Request,
    ) -> Result<http::Response<hyper::body::Incoming>, PoolError> {
        self.pool.send(request).await
    }
}

/// The TLS client configuration for `https://` upstreams: the system's
/// root certificates and those of `extra_roots` (a PEM file), HTTP/1.1.
pub fn tls_config(extra_roots: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "a system root certificate could not be loaded");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = extra_roots {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading {}", path.display()))?
        {
            roots.add(cert.with_context(|| format!("a certificate in {}", path.display()))?)?;
            added += 1;
        }
        anyhow::ensure!(added > 0, "no certificate in {}", path.display());
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "no root certificates to check https upstreams with"
    );
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Upstreams by service name.
pub type Upstreams = BTreeMap<&'static str, Upstream>;

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
fn strip(headers: &mut HeaderMap, identity: bool) {
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

/// What the proxy needs to know about one request.
pub struct Forward<'a> {
    pub upstream: &'a Upstream,
    /// The gateway's own ID token for the upstream (Cloud Run), sent as
    /// `X-Serverless-Authorization`.
    pub id_token: Option<HeaderValue>,
    pub client_ip: IpAddr,
    pub timeout: Duration,
    pub body_limit: u64,
}

/// Send `request` upstream and stream the answer back.
pub async fn forward(f: Forward<'_>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > f.body_limit) {
        return Err(too_large(f.body_limit));
    }
    if let Admit::No(wait) = f.upstream.breaker.admit() {
        return Err(ApiError::unavailable(
            wait,
            format!("the {} service is unavailable", f.upstream.name),
        ));
    }
    let outcome = Outcome {
        breaker: &f.upstream.breaker,
        reported: false,
    };
    let original_host = parts.headers.remove(header::HOST);
    strip(&mut parts.headers, true);
    set_forwarding(&mut parts.headers, f.client_ip, original_host);
    if let Some(token) = f.id_token.clone() {
        parts
            .headers
            .insert(SERVERLESS_AUTHORIZATION.clone(), token);
    }
    // Origin form: the pool sends to its upstream and sets Host. (A
    // server receives origin form but for proxy-style requests; only those
    // are rebuilt, from their already-parsed path and query.)
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        let mut origin = http::uri::Parts::default();
        origin.path_and_query = Some(
            parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        parts.uri = Uri::from_parts(origin).map_err(ApiError::internal)?;
    }
    let limit = usize::try_from(f.body_limit).unwrap_or(usize::MAX);
    let body = Body::new(Limited::new(body, limit).map_err(axum::Error::new));
    // No retry of our own: a request that never left (its pooled
    // connection closed under it) is re-sent by the client on a fresh
    // connection, for any method; a request that reached the upstream is
    // never sent twice.
    let result = send(&f, Request::from_parts(parts, body)).await;
    match result {
        Ok(response) => {
            if matches!(response.status().as_u16(), 502..=504) {
                outcome.failure();
            } else {
                outcome.success();
            }
            let (mut parts, body) = response.into_parts();
            strip(&mut parts.headers, false);
            Ok(Response::from_parts(parts, Body::new(body)))
        }
        Err(Failure::Timeout) => {
            outcome.failure();
            Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!("the {} service did not answer in time", f.upstream.name),
            ))
        }
        Err(Failure::Connect) => {
            outcome.failure();
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_unreachable",
                format!("the {} service cannot be reached", f.upstream.name),
            ))
        }
        Err(Failure::BodyTooLarge) => Err(too_large(f.body_limit)),
        Err(Failure::Other(e)) => {
            outcome.failure();
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_failed",
                format!("the {} service failed to answer", f.upstream.name),
            )
            .with_source(e))
        }
    }
}

/// Tells the breaker how an admitted request went. Dropped without an
/// outcome (the client went away mid-request, or the body was too large),
/// it gives back the half-open probe, which would otherwise stay "in
/// flight" forever and keep the circuit from ever closing.
struct Outcome<'a> {
    breaker: &'a Breaker,
    reported: bool,
}

impl Outcome<'_> {
    fn success(mut self) {
        self.reported = true;
        self.breaker.success();
    }

    fn failure(mut self) {
        self.reported = true;
        self.breaker.failure();
    }
}

impl Drop for Outcome<'_> {
    fn drop(&mut self) {
        if !self.reported {
            self.breaker.abandon();
        }
    }
}

enum Failure {
    Timeout,
    Connect,
    BodyTooLarge,
    Other(anyhow::Error),
}

async fn send(
    f: &Forward<'_>,
    request: Request,
) -> Result<http::Response<hyper::body::Incoming>, Failure> {
    match tokio::time::timeout(f.timeout, f.upstream.send(request)).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Ok(response)) => Ok(response),
        Ok(Err(PoolError::Connect(why))) => {
            tracing::debug!(upstream = f.upstream.name, why, "upstream connect failed");
            Err(Failure::Connect)
        }
        Ok(Err(PoolError::Http(e))) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Err(Failure::BodyTooLarge);
                }
                source = s.source();
            }
            Err(Failure::Other(anyhow::Error::new(e)))
        }
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {limit} bytes"),
    )
}

fn set_forwarding(headers: &mut HeaderMap, client_ip: IpAddr, host: Option<HeaderValue>) {
    if let Some(v) = ip_header_value(client_ip) {
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

/// Make sure an error answer is a response.
pub fn error_response(err: ApiError) -> Response {
    err.into_response()
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
