//! The proxy as the gateway's front: every request but the gateway's own
//! routes is routed by path prefix, its token checked, rate-limited and
//! forwarded to its service; what cannot be routed is a 404 problem with
//! CORS headers a browser can read.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use common::ApiError;
use common::serve::{Front, FrontFuture, RouteLabel};
use futures::FutureExt as _;
use http::header::HeaderName;
use tower::ServiceExt as _;

use crate::domain::auth::{authenticate, upstream_token};
use crate::domain::forward::{self, Forward};
use crate::domain::headers::{client_ip, with_headers};
use crate::domain::routing::{self, Class, Route};
use crate::error::GatewayError;
use crate::state::Gateway;

/// The proxy (CORS around [`proxy`]), answering every request but the
/// gateway's own routes ahead of its router; what it cannot route is a
/// 404 problem, with CORS headers a browser can read.
pub struct Proxy<S>(pub S);

impl<S> Front for Proxy<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone,
    S: Send + Sync + 'static,
    S::Future: Send + 'static,
{
    fn claims(&self, request: &Request) -> bool {
        let path = request.uri().path();
        !(common::serve::is_operational(path) || crate::routes::is_gateway_route(path))
    }

    fn answer(self: Arc<Self>, request: Request) -> FrontFuture {
        Box::pin(self.0.clone().oneshot(request).map(|r| match r {
            Ok(response) => response,
            Err(never) => match never {},
        }))
    }
}

/// Route, check, limit and forward one request.
pub async fn proxy(gw: Arc<Gateway>, request: Request) -> Response {
    let Some(route) = routing::route(request.method(), request.uri().path()) else {
        return GatewayError::RouteNotFound.into_response();
    };
    let label = RouteLabel(route.prefix);
    let mut response = match proxy_request(&gw, route, request).await {
        Ok(r) | Err(r) => r,
    };
    response.extensions_mut().insert(label);
    response
}

async fn proxy_request(gw: &Gateway, route: Route, request: Request) -> Result<Response, Response> {
    let caller = authenticate(gw, request.headers(), route.public)
        .await
        .map_err(IntoResponse::into_response)?;
    let client_ip = client_ip(&request, gw.settings.trust_forwarded_for);
    let key = match (&caller, route.class) {
        (Some(c), Class::Read | Class::Write) => c.rate_key.clone(),
        _ => Arc::from(format!("ip:{client_ip}")),
    };
    let verdict = gw.limits.for_class(route.class).check(&key);
    if gw.limits.over_capacity_sampled() {
        gw.limits.evict();
    }
    let rate_headers = [
        (HeaderName::from_static("ratelimit-policy"), verdict.policy),
        (HeaderName::from_static("ratelimit"), verdict.state),
    ];
    if !verdict.allowed {
        let err = ApiError::too_many_requests(verdict.retry_after, "too many requests; slow down");
        return Err(with_headers(err.into_response(), &rate_headers));
    }
    let Some(upstream) = gw.upstreams.get(route.service) else {
        return Err(GatewayError::RouteNotFound.into_response());
    };
    let id_token =
        match &gw.id_tokens {
            Some(tokens) => Some(upstream_token(tokens.as_ref(), upstream).await.map_err(
                |why| {
                    tracing::warn!(
                        upstream = upstream.name,
                        why,
                        "no ID token for the upstream"
                    );
                    let err = GatewayError::UpstreamUnavailable {
                        upstream: upstream.name,
                        retry_after: Duration::from_secs(1),
                    };
                    with_headers(err.into_response(), &rate_headers)
                },
            )?),
            None => None,
        };
    let slow = matches!(route.service, "media" | "ml");
    let forward = Forward {
        upstream,
        id_token,
        client_ip,
        timeout: Duration::from_secs(if slow {
            gw.settings.slow_upstream_timeout_secs
        } else {
            gw.settings.upstream_timeout_secs
        }),
        body_limit: if route.service == "media" {
            gw.settings.media_body_limit_bytes
        } else {
            gw.settings.body_limit_bytes
        },
        busy_pace: Duration::from_millis(gw.settings.upstream_busy_pace_ms),
    };
    match forward::forward(forward, request).await {
        Ok(r) => Ok(with_headers(r, &rate_headers)),
        Err(e) => {
            let pace = match &e {
                GatewayError::UpstreamBusy { pace_until, .. } => Some(*pace_until),
                _ => None,
            };
            let mut response = e.into_response();
            if let Some(until) = pace {
                response
                    .extensions_mut()
                    .insert(common::serve::PaceUntil(until));
            }
            Err(with_headers(response, &rate_headers))
        }
    }
}
