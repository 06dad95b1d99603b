//! The layer every request passes first: it builds the request context and
//! runs the request inside it, abandons a request past its deadline with a
//! 503 problem, turns any error still in plain text (axum's own
//! rejections) into a problem, puts `X-Request-Id` and `traceparent` on the response, and
//! writes the access-log line and the request metrics.
//!
//! One hand-written `tower` service with a named future instead of three
//! `middleware::from_fn` layers: those box a future, clone the rest of the
//! stack and build a `Next` for every request, which was about a quarter
//! of the gateway's CPU time per proxied request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::BoxError;
use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::FutureExt as _;
use futures::future::Map;
use http::Method;
use tokio::task::futures::TaskLocalFuture;
use tokio::time::Timeout;
use tokio::time::error::Elapsed;
use tower::{Layer, Service};

use crate::context::{self, RequestContext};
use crate::error::ApiError;

/// A route name for the metrics and the access log, put in a response's
/// extensions where axum's `MatchedPath` is not there or does not say
/// enough (a front's answers: the gateway's proxy).
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

/// Context, deadline, access log and metrics for every request.
#[derive(Clone)]
pub(crate) struct RequestLayer {
    metrics: Arc<RequestMetrics>,
    deadline: Duration,
}

impl RequestLayer {
    pub(crate) fn new(service: &'static str, deadline: Duration) -> Self {
        Self {
            metrics: Arc::new(RequestMetrics::new(service)),
            deadline,
        }
    }
}

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestService {
            inner,
            metrics: self.metrics.clone(),
            deadline: self.deadline,
        }
    }
}

#[derive(Clone)]
pub(crate) struct RequestService<S> {
    inner: S,
    metrics: Arc<RequestMetrics>,
    deadline: Duration,
}

type Outcome<B> = Result<Result<http::Response<B>, Infallible>, Elapsed>;
type Deadlined<F, B> = Map<Timeout<F>, fn(Outcome<B>) -> Response>;

impl<S, B> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let context = RequestContext::from_headers(request.headers());
        // What only the log line needs is copied only when it will be written.
        let log = tracing::enabled!(tracing::Level::INFO).then(|| LogFields {
            path: request.uri().path().to_owned(),
            user_agent: request
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        });
        let method = request.method().clone();
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let deadlined: Deadlined<S::Future, B> =
            tokio::time::timeout(self.deadline, self.inner.call(request)).map(past_deadline::<B>);
        ResponseFuture {
            inner: context.scope(deadlined),
            state: Some(Finish {
                metrics: self.metrics.clone(),
                started,
                method,
                matched,
                log,
            }),
        }
    }
}

/// The answer of a request abandoned at its deadline. Called inside the
/// request's context, so the problem carries its request id.
fn past_deadline<B>(outcome: Outcome<B>) -> Response
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    match outcome {
        Ok(Ok(response)) if is_plain_error(&response) => as_problem(response),
        Ok(Ok(response)) => response.map(Body::new),
        Ok(Err(never)) => match never {},
        Err(_) => ApiError::unavailable(
            Duration::from_secs(1),
            "the request took too long and was abandoned",
        )
        .into_response(),
    }
}

/// An error answered as plain text (or with no body type at all): what
/// axum's own extractors and layers answer (a raw body over the limit, a
/// missing extension), never the service's own errors.
fn is_plain_error<B>(response: &http::Response<B>) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"))
}

/// The same error as a problem (every error a client gets is one), with the
/// response's other headers (`Allow`, `Retry-After`) kept.
fn as_problem<B>(response: http::Response<B>) -> Response {
    use crate::error::codes;
    use http::StatusCode as S;
    let status = response.status();
    let code = match status {
        S::PAYLOAD_TOO_LARGE => codes::PAYLOAD_TOO_LARGE,
        S::UNSUPPORTED_MEDIA_TYPE => codes::UNSUPPORTED_MEDIA_TYPE,
        S::METHOD_NOT_ALLOWED => codes::METHOD_NOT_ALLOWED,
        S::NOT_FOUND => codes::NOT_FOUND,
        S::UNAUTHORIZED => codes::UNAUTHENTICATED,
        S::FORBIDDEN => codes::FORBIDDEN,
        S::CONFLICT => codes::CONFLICT,
        S::UNPROCESSABLE_ENTITY => codes::VALIDATION_FAILED,
        S::TOO_MANY_REQUESTS => codes::RATE_LIMITED,
        S::SERVICE_UNAVAILABLE => codes::UNAVAILABLE,
        S::BAD_GATEWAY | S::GATEWAY_TIMEOUT => codes::BAD_GATEWAY,
        s if s.is_client_error() => codes::UNREADABLE_BODY,
        _ => codes::INTERNAL,
    };
    let detail = match status {
        S::PAYLOAD_TOO_LARGE => "the request body is too large",
        s => s.canonical_reason().unwrap_or("the request failed"),
    };
    tracing::debug!(
        status = status.as_u16(),
        "a plain-text error answered as a problem"
    );
    let (parts, _) = response.into_parts();
    let mut problem = ApiError::new(status, code, detail).into_response();
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}

struct LogFields {
    path: String,
    user_agent: String,
}

/// What the response future needs once the response is there.
struct Finish {
    metrics: Arc<RequestMetrics>,
    started: Instant,
    method: Method,
    matched: Option<MatchedPath>,
    log: Option<LogFields>,
}

pin_project_lite::pin_project! {
    pub(crate) struct ResponseFuture<F, B> {
        #[pin]
        inner: TaskLocalFuture<RequestContext, Deadlined<F, B>>,
        state: Option<Finish>,
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut response = ready!(this.inner.as_mut().poll(cx));
        let finish = this.state.take();
        // Once the inner future is done the context is handed back; `None`
        // only if it was already taken, which a finished future never is.
        let Some(context) = this.inner.take_value() else {
            if let Some(finish) = finish {
                finish.record(&response);
            }
            return Poll::Ready(Ok(response));
        };
        let headers = response.headers_mut();
        headers.insert(
            context::REQUEST_ID.clone(),
            context.request_id.header_value(),
        );
        if let Some(v) = context.trace.header_value() {
            headers.insert(context::TRACEPARENT.clone(), v);
        }
        // Inside the request's context: the log line carries its ids.
        if let Some(finish) = finish {
            context.enter(|| finish.record(&response));
        }
        Poll::Ready(Ok(response))
    }
}

impl Finish {
    fn record(self, response: &Response) {
        let label = response.extensions().get::<RouteLabel>().map(|l| l.0);
        let route = self
            .matched
            .as_ref()
            .map(MatchedPath::as_str)
            .or(label)
            .unwrap_or("unmatched");
        let status = response.status().as_u16();
        let elapsed = self.started.elapsed();
        self.metrics.record(route, &self.method, status, elapsed);
        let Some(log) = self.log else { return };
        if route == "/health" || route == "/metrics" {
            return;
        }
        let user = RequestContext::with_current(|c| c.user.get().cloned())
            .flatten()
            .unwrap_or_default();
        let method = &self.method;
        tracing::info!(
            service = self.metrics.service,
            route,
            user,
            http.method = %method,
            http.url = log.path,
            http.status = u64::from(status),
            http.latency_ms = elapsed.as_secs_f64() * 1000.0,
            http.user_agent = log.user_agent,
            "{method} {route} {status}"
        );
    }
}

/// A service's request metrics, with the handles of each series kept, so
/// that a request records with two atomic updates instead of building its
/// labels and looking the series up in the registry.
struct RequestMetrics {
    service: &'static str,
    series: std::sync::RwLock<SeriesByRoute>,
}

/// route → (method, status) → the series' handles.
type SeriesByRoute = HashMap<Box<str>, HashMap<(Method, u16), Series>>;

#[derive(Clone)]
struct Series {
    requests: metrics::Counter,
    latency: metrics::Histogram,
}

impl RequestMetrics {
    fn new(service: &'static str) -> Self {
        Self {
            service,
            series: std::sync::RwLock::default(),
        }
    }

    fn record(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        // Methods a client made up share one series: labels stay bounded.
        let method = match *method {
            Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::PATCH
            | Method::DELETE
            | Method::OPTIONS => method.clone(),
            _ => Method::from_bytes(b"OTHER").unwrap_or_default(),
        };
        let method = &method;
        let key = (method.clone(), status);
        let known = self
            .series
            .read()
            .ok()
            .and_then(|s| s.get(route).and_then(|m| m.get(&key)).cloned());
        let series = known.unwrap_or_else(|| {
            let labels = [
                ("service", self.service.to_owned()),
                ("method", method.to_string()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ];
            let series = Series {
                requests: metrics::counter!("http_requests_total", &labels),
                latency: metrics::histogram!("http_request_duration_seconds", &labels[..3]),
            };
            if let Ok(mut all) = self.series.write() {
                all.entry(route.into())
                    .or_default()
                    .insert(key, series.clone());
            }
            series
        });
        series.requests.increment(1);
        series.latency.record(elapsed.as_secs_f64());
    }
}
