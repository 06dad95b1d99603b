//! Admission: a service takes on at most `max_in_flight` requests at once.
//! A request beyond that waits in a short queue (at most `queue_depth` of
//! them, each at most `queue_wait`) for a place, or is answered 503 with
//! `Retry-After`, before its body is read; a busy service sheds load
//! instead of slowing every request down or running out of memory. The
//! refusal is paced: sent `shed_pace` after the request arrived, holding
//! no place meanwhile, so clients that retry at once (load tools, naive
//! retry loops) cannot turn refusals into the service's main work.
//! The operational routes (`/health`, `/ready`, `/metrics`) are always
//! answered, so a service under load is seen to be alive and busy.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use crate::error::{ApiError, codes};

/// How a service admits requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests handled at once.
    pub max_in_flight: usize,
    /// Requests waiting for a place at once, beyond which they are shed.
    pub queue_depth: usize,
    /// How long a request waits for a place before it is shed.
    pub queue_wait: Duration,
    /// How long after arrival a refusal is sent.
    pub shed_pace: Duration,
}

/// A response carrying this is sent no sooner than the instant it holds,
/// after its request's place has been given back: how a refusal made
/// further in (the gateway's `upstream_busy`) is paced like the admission
/// layer's own, without holding a place while it waits.
#[derive(Debug, Clone, Copy)]
pub struct PaceUntil(pub tokio::time::Instant);

/// Wait until `response`'s [`PaceUntil`], if it has one.
async fn paced(response: Response) -> Response {
    if let Some(PaceUntil(until)) = response.extensions().get::<PaceUntil>().copied() {
        tokio::time::sleep_until(until).await;
    }
    response
}

/// The shared admission state of one service.
pub(crate) struct Admission {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: Limits,
}

impl Admission {
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            waiting: AtomicUsize::new(0),
            limits,
        })
    }

    /// A place now, without waiting.
    fn try_admit(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Wait in the queue for a place, if the queue has room.
    async fn queue(self: Arc<Self>) -> Option<OwnedSemaphorePermit> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.queue_depth {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let permit =
            tokio::time::timeout(self.limits.queue_wait, self.permits.clone().acquire_owned())
                .await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        permit.ok()?.ok()
    }
}

/// The answer to a request the service has no room for.
fn shed() -> Response {
    ApiError::new(
        http::StatusCode::SERVICE_UNAVAILABLE,
        codes::OVERLOADED,
        "the service is at capacity; try again shortly",
    )
    .retry_after(Duration::from_secs(1))
    .into_response()
}

/// Admits requests to the service it wraps.
#[derive(Clone)]
pub(crate) struct AdmissionLayer(pub(crate) Arc<Admission>);

impl<S> Layer<S> for AdmissionLayer {
    type Service = AdmissionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdmissionService {
            inner,
            admission: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct AdmissionService<S> {
    inner: S,
    admission: Arc<Admission>,
}

type Boxed = Pin<Box<dyn Future<Output = Response> + Send>>;

pin_project_lite::pin_project! {
    /// Admitted at once (the common case, nothing boxed), queued, or shed;
    /// an answer that asks to be paced waits after its place is given back.
    #[project = AdmittedProj]
    pub(crate) enum AdmissionFuture<F> {
        Now {
            #[pin]
            inner: F,
            permit: Option<OwnedSemaphorePermit>,
        },
        Queued { queued: Boxed },
        Pacing { pacing: Boxed },
    }
}

impl<S, B> Service<Request> for AdmissionService<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AdmissionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if super::is_operational(request.uri().path()) {
            return AdmissionFuture::Now {
                inner: self.inner.call(request),
                permit: None,
            };
        }
        if let Some(permit) = self.admission.try_admit() {
            return AdmissionFuture::Now {
                inner: self.inner.call(request),
                permit: Some(permit),
            };
        }
        // No place now: queue (a clone of the stack runs the request once
        // admitted), or shed at once when the queue is full.
        let admission = self.admission.clone();
        let mut inner = self.inner.clone();
        let arrived = tokio::time::Instant::now();
        AdmissionFuture::Queued {
            queued: Box::pin(async move {
                let Some(permit) = admission.clone().queue().await else {
                    tokio::time::sleep_until(arrived + admission.limits.shed_pace).await;
                    return shed();
                };
                let response = match tower::ServiceExt::ready(&mut inner).await {
                    Ok(ready) => match ready.call(request).await {
                        Ok(response) => response.map(Body::new),
                        Err(never) => match never {},
                    },
                    Err(never) => match never {},
                };
                drop(permit);
                paced(response).await
            }),
        }
    }
}

impl<F, B> Future for AdmissionFuture<F>
where
    F: Future<Output = Result<http::Response<B>, Infallible>>,
    B: HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.as_mut().project() {
            AdmittedProj::Now { inner, permit } => {
                let Ok(response) = ready!(inner.poll(cx));
                // The place is given back as soon as the answer's head is ready.
                drop(permit.take());
                let response = response.map(Body::new);
                if response.extensions().get::<PaceUntil>().is_none() {
                    return Poll::Ready(Ok(response));
                }
                self.set(AdmissionFuture::Pacing {
                    pacing: Box::pin(paced(response)),
                });
                self.poll(cx)
            }
            AdmittedProj::Queued { queued } => queued.as_mut().poll(cx).map(Ok),
            AdmittedProj::Pacing { pacing } => pacing.as_mut().poll(cx).map(Ok),
        }
    }
}
