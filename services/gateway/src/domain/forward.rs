//! The streaming proxy. Bodies stream both ways (never buffered), so a
//! 50 MB upload passes in bounded memory; on Cloud Run the gateway's ID
//! token for the service goes in `X-Serverless-Authorization` (which Cloud
//! Run checks before the service sees `Authorization`). Each upstream has a
//! circuit breaker; an upstream that does not start answering in time is
//! abandoned (the call is cancelled) with 504.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::Uri;
use http::header::{self, HeaderValue};
use http_body_util::{BodyExt, Limited};

use crate::domain::breaker::{Admit, Breaker};
use crate::domain::headers::{SERVERLESS_AUTHORIZATION, set_forwarding, strip};
use crate::domain::pool::{PoolError, PooledBody};
use crate::domain::upstream::Upstream;
use crate::error::GatewayError;

/// What the proxy needs to know about one request.
pub struct Forward<'a> {
    pub upstream: &'a Upstream,
    /// The gateway's own ID token for the upstream (Cloud Run), sent as
    /// `X-Serverless-Authorization`.
    pub id_token: Option<HeaderValue>,
    pub client_ip: IpAddr,
    pub timeout: Duration,
    pub body_limit: u64,
    /// How long after it started a request refused `upstream_busy` is
    /// answered (see `Settings::upstream_busy_pace_ms`).
    pub busy_pace: Duration,
}

/// Send `request` upstream and stream the answer back.
pub async fn forward(f: Forward<'_>, request: Request) -> Result<Response, GatewayError> {
    let started = tokio::time::Instant::now();
    let (mut parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > f.body_limit) {
        return Err(GatewayError::BodyTooLarge(f.body_limit));
    }
    if let Admit::No(wait) = f.upstream.breaker.admit() {
        return Err(GatewayError::UpstreamUnavailable {
            upstream: f.upstream.name,
            retry_after: wait,
        });
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
        parts.uri = Uri::from_parts(origin).map_err(|e| GatewayError::Internal(e.into()))?;
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
            // The service answered: whatever it said (a 503 of its own when
            // it sheds load or a dependency of it is down), it is reachable.
            // Only failures to get an answer open its breaker.
            outcome.success();
            let (mut parts, body) = response.into_parts();
            strip(&mut parts.headers, false);
            Ok(Response::from_parts(parts, Body::new(body)))
        }
        Err(Failure::Timeout) => {
            outcome.failure();
            Err(GatewayError::UpstreamTimeout(f.upstream.name))
        }
        Err(Failure::Connect) => {
            outcome.failure();
            Err(GatewayError::UpstreamUnreachable(f.upstream.name))
        }
        Err(Failure::BodyTooLarge) => Err(GatewayError::BodyTooLarge(f.body_limit)),
        // Full, not failing: nothing for the breaker (the outcome is
        // abandoned), and the client is told to come back shortly.
        // Paced like the services' own refusals, once the gateway's place
        // is given back (`common::serve::PaceUntil`).
        Err(Failure::Busy) => Err(GatewayError::UpstreamBusy {
            upstream: f.upstream.name,
            pace_until: started + f.busy_pace,
        }),
        Err(Failure::Other(e)) => {
            outcome.failure();
            Err(GatewayError::UpstreamFailed {
                upstream: f.upstream.name,
                source: e,
            })
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
    Busy,
    BodyTooLarge,
    Other(anyhow::Error),
}

async fn send(f: &Forward<'_>, request: Request) -> Result<http::Response<PooledBody>, Failure> {
    match tokio::time::timeout(f.timeout, f.upstream.send(request)).await {
        Err(_) => Err(Failure::Timeout),
        Ok(Ok(response)) => Ok(response),
        Ok(Err(PoolError::Connect(why))) => {
            tracing::debug!(upstream = f.upstream.name, why, "upstream connect failed");
            Err(Failure::Connect)
        }
        Ok(Err(PoolError::Busy)) => Err(Failure::Busy),
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
