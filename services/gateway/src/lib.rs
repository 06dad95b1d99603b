//! The gateway (port 8000): the only door mobile and web clients use. It
//! routes by path prefix to the services, verifies the bearer token of
//! every request outside a short allow-list (caching verified tokens until
//! they expire), rate-limits per user or client IP, limits request bodies,
//! answers CORS, and streams requests and answers through without
//! buffering, over plain HTTP or TLS, with the gateway's own ID token for
//! each service on Cloud Run. `GET /ready` reports every upstream;
//! `GET /docs/all` shows every service's API on one page.

pub mod breaker;
pub mod config;
pub mod limits;
pub mod pool;
pub mod proxy;
pub mod routing;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use common::config::ServiceAuthMode;
use common::identity::{Authenticator, Caller};
use common::serve::{CheckFn, Front, FrontFuture, RouteLabel};
use common::tokens::TokenProvider;
use common::{ApiError, RequestContext, Service};
use futures::FutureExt as _;
use http::Method;
use http::header::{self, HeaderName, HeaderValue};
use tower::{Layer as _, ServiceExt as _};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::OpenApi as _;

pub use config::Settings;

use crate::limits::Limits;
use crate::pool::PoolError;
use crate::proxy::{Forward, Upstream, Upstreams};
use crate::routing::{Class, Route};

/// The gateway's configuration.
pub type Config = common::Config<Settings>;

/// The service's name.
pub const NAME: &str = "gateway";

/// Everything the proxy needs.
pub struct Gateway {
    upstreams: Upstreams,
    /// Where ID tokens for the upstreams come from (Cloud Run), if anywhere.
    id_tokens: Option<Arc<dyn TokenProvider>>,
    auth: Arc<Authenticator>,
    tokens: quick_cache::sync::Cache<String, Arc<Verified>>,
    limits: Limits,
    settings: Settings,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(description = "The gateway in front of every CraftChain service. \
    Its own routes are operational; every service's API is at /docs/all.")
)]
struct ApiDoc;

/// Assemble the gateway.
pub async fn build(config: &Config) -> anyhow::Result<Service> {
    let mut config = config.clone();
    // Answers stream after their head; only the head is timed, per route.
    config.shared.request_timeout_secs = config.service.slow_upstream_timeout_secs + 5;
    config.validate()?;
    let settings = config.service.clone();
    let auth = Arc::new(common::caller::authenticator(&config.shared.identity)?);
    let tls = settings
        .upstreams
        .values()
        .any(|u| u.scheme() == "https")
        .then(|| proxy::tls_config(settings.upstream_ca_file.as_deref()))
        .transpose()?;
    let mut upstreams = Upstreams::new();
    for (_, service) in routing::PREFIXES {
        if upstreams.contains_key(service) {
            continue;
        }
        let base = settings
            .upstreams
            .get(*service)
            .ok_or_else(|| anyhow::anyhow!("no upstream URL for {service}"))?;
        upstreams.insert(
            service,
            Upstream::new(service, base, tls.clone(), &settings)?,
        );
    }
    // On Cloud Run every upstream call carries the gateway's own ID token
    // for that service, beside the caller's `Authorization`.
    let id_tokens = (config.shared.service_auth.mode == ServiceAuthMode::Metadata)
        .then(|| common::tokens::from_config(&config.shared))
        .flatten();
    let gateway = Arc::new(Gateway {
        id_tokens,
        tokens: quick_cache::sync::Cache::new(settings.token_cache_size),
        limits: Limits::new(&settings),
        upstreams,
        auth,
        settings: settings.clone(),
    });
    let cors = cors(&settings)?;
    let router = Router::new()
        .route(ALL_DOCS, get(all_docs))
        .layer(cors.clone())
        .with_state(gateway.clone());
    // CORS answers preflights itself and marks every answer.
    let proxied = gateway.clone();
    let proxy = Arc::new(Proxy(cors.layer(tower::service_fn(move |request| {
        proxy(proxied.clone(), request).map(Ok::<_, Infallible>)
    }))));
    let mut service = Service::new(NAME, router, ApiDoc::openapi()).with_front(proxy);
    for name in gateway.upstreams.keys().copied() {
        let gw = gateway.clone();
        service = service.readiness(CheckFn::new(name, move || {
            let gw = gw.clone();
            async move { upstream_ready(&gw, name).await }
        }));
    }
    let evictor = gateway.clone();
    Ok(
        service.background("rate-limit-eviction", move |cancel| async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(10)) => evictor.limits.evict(),
                }
            }
        }),
    )
}

fn cors(settings: &Settings) -> anyhow::Result<CorsLayer> {
    let origins = settings
        .cors_origins
        .iter()
        .map(|o| HeaderValue::from_str(o))
        .collect::<Result<std::collections::HashSet<_>, _>>()?;
    // A predicate over a shared set: the CORS service is cloned for every
    // request, and cloning a list would allocate each time.
    let origins = Arc::new(origins);
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origins.contains(origin)
        }))
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(Duration::from_secs(600)))
}

async fn upstream_ready(gw: &Gateway, name: &str) -> Result<(), String> {
    let answer = tokio::time::timeout(Duration::from_secs(2), upstream_get(gw, name, "/ready"));
    match answer.await {
        Ok(Ok(r)) if r.status().is_success() => Ok(()),
        Ok(Ok(r)) => Err(format!("answered {}", r.status())),
        Ok(Err(why)) => Err(why),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// `GET path` of an upstream, for the gateway's own use (readiness, docs),
/// through the proxy's connections and with its ID token.
async fn upstream_get(
    gw: &Gateway,
    name: &str,
    path: &'static str,
) -> Result<http::Response<hyper::body::Incoming>, String> {
    let upstream = gw
        .upstreams
        .get(name)
        .ok_or_else(|| format!("no upstream {name}"))?;
    let mut request = http::Request::get(path)
        .body(axum::body::Body::empty())
        .map_err(|e| e.to_string())?;
    if let Some(tokens) = &gw.id_tokens {
        let token = upstream_token(tokens.as_ref(), upstream).await?;
        request
            .headers_mut()
            .insert(proxy::SERVERLESS_AUTHORIZATION.clone(), token);
    }
    // The reason goes to the log, not into `/ready`'s public answer.
    upstream.send(request).await.map_err(|e| {
        tracing::warn!(upstream = name, error = ?e, "upstream check failed");
        match e {
            PoolError::Connect(_) => "unreachable".to_owned(),
            PoolError::Http(_) => "failed to answer".to_owned(),
        }
    })
}

/// The gateway's one route of its own besides the operational ones.
const ALL_DOCS: &str = "/docs/all";

/// The proxy (CORS around [`proxy`]), answering every request but the
/// gateway's own routes ahead of its router; what it cannot route is a
/// 404 problem, with CORS headers a browser can read.
struct Proxy<S>(S);

impl<S> Front for Proxy<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone,
    S: Send + Sync + 'static,
    S::Future: Send + 'static,
{
    fn claims(&self, request: &Request) -> bool {
        let path = request.uri().path();
        !(common::serve::is_operational(path) || path == ALL_DOCS)
    }

    fn answer(self: Arc<Self>, request: Request) -> FrontFuture {
        Box::pin(self.0.clone().oneshot(request).map(|r| match r {
            Ok(response) => response,
            Err(never) => match never {},
        }))
    }
}

async fn proxy(gw: Arc<Gateway>, request: Request) -> Response {
    let Some(route) = routing::route(request.method(), request.uri().path()) else {
        return ApiError::route_not_found().into_response();
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
    let client_ip = proxy::client_ip(&request, gw.settings.trust_forwarded_for);
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
        return Err(proxy::with_headers(err.into_response(), &rate_headers));
    }
    let Some(upstream) = gw.upstreams.get(route.service) else {
        return Err(ApiError::not_found("route").into_response());
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
                    let err = ApiError::unavailable(
                        Duration::from_secs(1),
                        format!("the {} service cannot be reached just now", upstream.name),
                    );
                    proxy::with_headers(err.into_response(), &rate_headers)
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
    };
    match proxy::forward(forward, request).await {
        Ok(r) => Ok(proxy::with_headers(r, &rate_headers)),
        Err(e) => Err(proxy::with_headers(e.into_response(), &rate_headers)),
    }
}

/// The gateway's ID token for `upstream`, as an
/// `X-Serverless-Authorization` value.
async fn upstream_token(
    tokens: &dyn TokenProvider,
    upstream: &Upstream,
) -> Result<HeaderValue, String> {
    // A metadata server that does not answer must not hold requests up.
    let token = tokio::time::timeout(ID_TOKEN_WAIT, tokens.token(&upstream.audience))
        .await
        .map_err(|_| "the metadata server did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    value.set_sensitive(true);
    Ok(value)
}

/// How long a request waits for an ID token before it is answered 503.
const ID_TOKEN_WAIT: Duration = Duration::from_secs(2);

/// A verified token's caller, cached (shared, never copied) until the
/// token expires.
struct Verified {
    uid: String,
    /// The caller's rate-limit key.
    rate_key: Arc<str>,
    /// When the token expires (Unix seconds).
    exp: i64,
}

/// The verified caller, `None` on a public route without a token.
async fn authenticate(
    gw: &Gateway,
    headers: &http::HeaderMap,
    public: bool,
) -> Result<Option<Arc<Verified>>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return if public {
            Ok(None)
        } else {
            Err(ApiError::unauthorized("this route needs a bearer token"))
        };
    };
    let token = value
        .to_str()
        .ok()
        .and_then(common::context::bearer_token)
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    let now = chrono::Utc::now().timestamp();
    if let Some(verified) = gw.tokens.get(token)
        && verified.exp > now
    {
        RequestContext::record_user(&verified.uid);
        return Ok(Some(verified));
    }
    let claims = gw.auth.primary().verify(token).await?;
    let caller = Caller::from_claims(&claims)?;
    let verified = Arc::new(Verified {
        rate_key: Arc::from(format!("u:{}", caller.uid)),
        uid: caller.uid,
        exp: claims.exp,
    });
    gw.tokens.insert(token.to_owned(), verified.clone());
    RequestContext::record_user(&verified.uid);
    Ok(Some(verified))
}

/// One page with every service's API, merged from their `/openapi.json`.
async fn all_docs(State(gw): State<Arc<Gateway>>) -> Response {
    let mut merged = ApiDoc::openapi();
    merged.info.title = "CraftChain X API".to_owned();
    for name in gw.upstreams.keys().copied() {
        let fetched = async {
            let response = upstream_get(&gw, name, "/openapi.json").await.ok()?;
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .ok()?
                .to_bytes();
            serde_json::from_slice::<utoipa::openapi::OpenApi>(&bytes).ok()
        };
        match tokio::time::timeout(Duration::from_secs(3), fetched).await {
            Ok(Some(spec)) => merged.merge(spec),
            _ => tracing::debug!(service = name, "no OpenAPI document to merge"),
        }
    }
    Html(utoipa_scalar::Scalar::new(merged).to_html()).into_response()
}
