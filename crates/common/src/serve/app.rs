//! A service's whole HTTP service: its router, and ahead of it an optional
//! front that answers the requests it claims (the gateway's proxy). Both
//! sit inside the same request layer and sensitive-header marking.
//!
//! The front exists for speed: through the router, every proxied request
//! was matched against the gateway's own routes, then had its route's
//! boxed middleware stack cloned and its handler's extractors run, before
//! the proxy saw it. The front's stack is built once and cloned cheaply.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use futures::future::Either;
use tower::Service;
use tower_http::compression::Compression;
use tower_http::sensitive_headers::SetSensitiveRequestHeaders;

use super::admission::AdmissionService;
use super::request::RequestService;

/// Answers the requests it claims before the router sees them.
pub trait Front: Send + Sync + 'static {
    /// Whether `request` is this front's to answer.
    fn claims(&self, request: &Request) -> bool;

    /// The answer. A handler's job: errors are responses (problem+json),
    /// and a response may carry a [`super::RouteLabel`] for its metrics.
    fn answer(self: Arc<Self>, request: Request) -> FrontFuture;
}

/// What [`Front::answer`] returns.
pub type FrontFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// A front as a `tower` service; cloning it is cloning an `Arc`.
#[derive(Clone)]
pub(crate) struct FrontService(pub(crate) Arc<dyn Front>);

impl Service<Request> for FrontService {
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::Map<FrontFuture, fn(Response) -> Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        futures::FutureExt::map(self.0.clone().answer(request), Ok)
    }
}

pub(crate) type FrontStack =
    RequestService<AdmissionService<SetSensitiveRequestHeaders<Compression<FrontService>>>>;

/// What the server runs for a service (tests drive it with `oneshot`).
#[derive(Clone)]
pub struct App {
    pub(crate) router: Router,
    pub(crate) front: Option<(Arc<dyn Front>, FrontStack)>,
}

impl Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = AppFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both are ready for any request (neither has backpressure today).
        if let Some((_, stack)) = &mut self.front {
            ready!(stack.poll_ready(cx))?;
        }
        <Router as Service<Request>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request) -> AppFuture {
        let inner = match &mut self.front {
            Some((front, stack)) if front.claims(&request) => Either::Right(stack.call(request)),
            _ => Either::Left(self.router.call(request)),
        };
        AppFuture { inner }
    }
}

type Inner = Either<<Router as Service<Request>>::Future, <FrontStack as Service<Request>>::Future>;

pin_project_lite::pin_project! {
    /// The response future of [`App`].
    pub struct AppFuture {
        #[pin]
        inner: Inner,
    }
}

impl Future for AppFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}
