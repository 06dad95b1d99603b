//! The per-request context: request id, W3C trace context and the caller's
//! bearer token, accepted from the incoming request or created, and carried
//! in a task-local so that log lines, problem bodies and outgoing
//! `ServiceClient` calls can all see it without threading it through every
//! function.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use http::HeaderValue;
use http::header::{AUTHORIZATION, HeaderName};
use rand::Rng;
use tokio::task::futures::TaskLocalFuture;

/// `X-Request-Id`.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// W3C `traceparent`.
pub static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The client's address as the gateway saw it. The gateway drops any
/// `x-craftchain-*` header a client sends and sets this one itself; unlike
/// `X-Forwarded-For`, no load balancer appends to it on the way (Cloud Run's
/// front end appends the gateway's own address there).
pub static CLIENT_ADDRESS: HeaderName = HeaderName::from_static("x-craftchain-client-address");

const MAX_REQUEST_ID_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// What one request carries through the services.
#[derive(Clone)]
pub struct RequestContext {
    pub request_id: RequestId,
    pub trace: TraceParent,
    /// The caller's `Authorization: Bearer …` header as it came in, passed
    /// on to other services so that they act on the caller's behalf.
    pub authorization: Option<HeaderValue>,
    /// The authenticated caller's uid, once an extractor has verified it
    /// (for the access log).
    pub user: Arc<OnceLock<String>>,
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_id", &self.request_id)
            .field("trace", &self.trace)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl RequestContext {
    /// A fresh context for work that starts inside a service (a relay pass,
    /// a consumer), with new ids and no caller token.
    pub fn new_root() -> Self {
        Self {
            request_id: RequestId::new(),
            trace: TraceParent::new_root(),
            authorization: None,
            user: Arc::default(),
        }
    }

    /// The context of the running task, if it is serving a request.
    pub fn current() -> Option<RequestContext> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// `f` of the running task's context, if it is serving a request,
    /// without cloning the context.
    pub fn with_current<R>(f: impl FnOnce(&RequestContext) -> R) -> Option<R> {
        CURRENT.try_with(f).ok()
    }

    /// The request id of the running task, if any.
    pub fn current_request_id() -> Option<String> {
        CURRENT.try_with(|c| c.request_id.to_string()).ok()
    }

    /// Record the verified caller of the running request.
    pub fn record_user(uid: &str) {
        let _ = CURRENT.try_with(|c| c.user.set(uid.to_owned()));
    }

    /// Run `f` with this context as the current one.
    pub fn enter<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
    }

    /// `fut`, run with this context as the current one.
    pub fn scope<F: Future>(self, fut: F) -> TaskLocalFuture<RequestContext, F> {
        CURRENT.scope(self, fut)
    }

    /// Build the context of an incoming request from its headers.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let request_id = headers
            .get(&REQUEST_ID)
            .and_then(RequestId::accept)
            .unwrap_or_else(RequestId::new);
        let trace = headers
            .get(&TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(TraceParent::parse)
            .map_or_else(TraceParent::new_root, |parent| parent.child());
        // The header value is shared with the request, not copied; marked
        // sensitive wherever it is sent on.
        let authorization = headers
            .get(AUTHORIZATION)
            .filter(|v| v.to_str().ok().and_then(bearer_token).is_some())
            .map(|v| {
                let mut v = v.clone();
                v.set_sensitive(true);
                v
            });
        Self {
            request_id,
            trace,
            authorization,
            user: Arc::default(),
        }
    }
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A request's id: 1 to 128 characters of `[A-Za-z0-9._:-]`. Kept as the
/// header value it travels in, so that setting it on the upstream request
/// and on the response copies nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A fresh id: 32 random hex digits, from the thread-local CSPRNG (no
    /// system call per request).
    pub fn new() -> Self {
        let mut hex = [0u8; 32];
        // Cannot fail: 32 hex digits for 16 bytes.
        let _ = hex::encode_to_slice(rand::rng().random::<u128>().to_be_bytes(), &mut hex);
        Self(HeaderValue::from_bytes(&hex).unwrap_or_else(|_| HeaderValue::from_static("0")))
    }

    /// The id a client or another service sent, if it is a valid one.
    fn accept(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        valid.then(|| Self(value.clone()))
    }

    pub fn as_str(&self) -> &str {
        // Never empty: only ASCII is ever accepted or generated.
        self.0.to_str().unwrap_or_default()
    }

    /// The `X-Request-Id` header value (a reference-counted clone).
    pub fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for RequestId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for RequestId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RequestId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A W3C trace context (`version-traceid-spanid-flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceParent {
    pub fn new_root() -> Self {
        let mut rng = rand::rng();
        Self {
            trace_id: rng.random::<u128>().max(1).to_be_bytes(),
            span_id: rng.random::<u64>().max(1).to_be_bytes(),
            sampled: false,
        }
    }

    /// A new span in the same trace.
    pub fn child(&self) -> Self {
        Self {
            span_id: rand::rng().random::<u64>().max(1).to_be_bytes(),
            ..*self
        }
    }

    /// Parse a `traceparent` header; `None` if it is not valid per W3C.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let _ = u8::from_str_radix(version, 16).ok()?;
        let trace_id: [u8; 16] = decode_hex_lower(trace)?;
        let span_id: [u8; 8] = decode_hex_lower(span)?;
        let flags: [u8; 1] = decode_hex_lower(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        hex::encode(self.span_id)
    }

    /// The `traceparent` header, written without going through strings
    /// (it is set twice on every proxied request). Always `Some`: the
    /// bytes are hex digits and dashes.
    pub fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_bytes(&self.encode()).ok()
    }

    /// `00-<32 hex>-<16 hex>-<2 hex>`.
    fn encode(&self) -> [u8; 55] {
        let mut out = [b'-'; 55];
        out[..2].copy_from_slice(b"00");
        let hex = |from: &[u8], to: &mut [u8]| {
            // Cannot fail: `to` is exactly twice as long as `from`.
            let _ = hex::encode_to_slice(from, to);
        };
        hex(&self.trace_id, &mut out[3..35]);
        hex(&self.span_id, &mut out[36..52]);
        hex(&[u8::from(self.sampled)], &mut out[53..55]);
        out
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.encode();
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

fn decode_hex_lower<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests;
