//! Requests to a [`TestService`]: through `oneshot` in process, or over
//! HTTP when it is served; typed helpers for each method and for event
//! pushes.

use axum::body::{Body, Bytes};
use events::PushRequest;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde::Serialize;
use tower::ServiceExt as _;

use super::{Served, TestService};
use crate::http::TestResponse;

impl TestService {
    /// Send a request through the whole app (over HTTP when served).
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let (status, headers, bytes) = match (&self.app, &self.served) {
            (Some(app), _) => {
                let response = app
                    .clone()
                    .oneshot(request)
                    .await
                    .expect("the app is infallible");
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .expect("reading the response body")
                    .to_bytes();
                (status, headers, bytes)
            }
            (None, Some(served)) => served.send(request).await,
            (None, None) => panic!("the {} service is not running", self.name),
        };
        TestResponse::new(status, headers, bytes)
    }

    /// `method path` with no body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>) -> TestResponse {
        self.send(crate::http::empty(crate::http::request(
            method, path, token,
        )))
        .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::GET, path, token).await
    }

    /// `GET path` with extra headers and no token.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut builder = crate::http::request(Method::GET, path, None);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.send(crate::http::empty(builder)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::DELETE, path, token).await
    }

    /// `PUT path` with no body.
    pub async fn put(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::PUT, path, token).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(crate::http::json(
            crate::http::request(Method::POST, path, token),
            body,
        ))
        .await
    }

    pub async fn put_json(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(crate::http::json(
            crate::http::request(Method::PUT, path, token),
            body,
        ))
        .await
    }

    /// `method path` with a JSON body and extra headers
    /// (`Idempotency-Key`, `If-Match`, …).
    pub async fn json_with(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = crate::http::request(method, path, token);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.send(crate::http::json(builder, body)).await
    }

    /// `PATCH path` with a JSON body and an optional `If-Match`.
    pub async fn patch_json(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
        if_match: Option<&str>,
    ) -> TestResponse {
        let mut builder = crate::http::request(Method::PATCH, path, token);
        if let Some(etag) = if_match {
            builder = builder.header(header::IF_MATCH, etag);
        }
        self.send(crate::http::json(builder, body)).await
    }

    /// `POST` a raw body with the given `Content-Type` (none if `None`).
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<Body>,
        content_type: Option<&str>,
        token: Option<&str>,
    ) -> TestResponse {
        let mut builder = crate::http::request(Method::POST, path, token);
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        self.send(builder.body(body.into()).expect("a valid request"))
            .await
    }

    /// `POST /events/push` with `event` as Pub/Sub delivers it, with a
    /// `service` token.
    pub async fn push<E: events::Event>(
        &self,
        event_id: &str,
        subject: &str,
        event: &E,
    ) -> TestResponse {
        self.push_as(&self.service_token(), event_id, subject, event)
            .await
    }

    /// [`TestService::push`] with the given token.
    pub async fn push_as<E: events::Event>(
        &self,
        token: &str,
        event_id: &str,
        subject: &str,
        event: &E,
    ) -> TestResponse {
        let body = PushRequest::for_event(event_id, "test", subject, event);
        self.post_json("/events/push", &body, Some(token)).await
    }
}

impl Served {
    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .expect("reading the request body")
            .to_bytes();
        let response = self
            .http
            .request(parts.method, format!("{}{}", self.base, parts.uri))
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .expect("the served app answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("reading the response body");
        (status, headers, bytes)
    }
}
