//! Tests of the serving pipeline: operational routes, limits, deadlines,
//! the front, the access log and graceful shutdown.

use super::*;
use crate::serve::ops::OPERATIONAL;
use axum::extract::Request;
use axum::response::IntoResponse as _;
use axum::routing::post;
use http::StatusCode;
use tower::ServiceExt;

fn demo() -> Service {
    named_demo("demo")
}

fn named_demo(name: &'static str) -> Service {
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        )
        .route(
            "/echo",
            post(|crate::Json(v): crate::Json<serde_json::Value>| async move { crate::Json(v) }),
        )
        .route(
            "/raw",
            post(|body: bytes::Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/teapot",
            get(|| async {
                (
                    StatusCode::IM_A_TEAPOT,
                    [("retry-after", "3")],
                    "short and stout",
                )
            }),
        );
    Service::new(name, router, OpenApi::default())
        .readiness(CheckFn::new("always", || async { Ok(()) }))
        .readiness(CheckFn::new("never", || async { Err("down".to_owned()) }))
}

async fn call(
    app: &App,
    method: &str,
    path: &str,
    body: &'static str,
) -> (StatusCode, http::HeaderMap, String) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn operational_routes_answer_and_unknown_routes_are_problems() {
    let config = SharedConfig::local("demo", 0);
    let app = demo().app(&config);
    let (status, headers, _) = call(&app, "GET", "/health", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("x-request-id"));
    assert!(headers.contains_key("traceparent"));
    let (status, _, body) = call(&app, "GET", "/ready", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains(r#""never":"down""#) && body.contains(r#""always":"ok""#),
        "{body}"
    );
    let (status, _, body) = call(&app, "GET", "/openapi.json", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("CraftChain demo service"));
    assert_eq!(call(&app, "GET", "/docs", "").await.0, StatusCode::OK);
    let (status, headers, body) = call(&app, "GET", "/nope", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
    assert!(body.contains("route_not_found"));
    let (status, _, body) = call(&app, "DELETE", "/echo", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body.contains("method_not_allowed"));
    let (_, _, metrics) = call(&app, "GET", "/metrics", "").await;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
}

#[tokio::test]
async fn oversized_bodies_are_413_and_slow_requests_503_problems() {
    let mut config = SharedConfig::local("demo", 0);
    config.body_limit_bytes = 16;
    let app = demo().app(&config);
    let (status, headers, body) = call(
        &app,
        "POST",
        "/echo",
        r#"{"a":"0123456789012345678901234567890"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
    assert_eq!(
        call(&app, "POST", "/echo", r#"{"a":1}"#).await.0,
        StatusCode::OK
    );
    // axum's own rejections (a raw body) are problems too, and any other
    // plain-text error keeps its status and headers as one.
    let (status, headers, body) = call(&app, "POST", "/raw", "01234567890123456789").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
    assert!(body.contains("payload_too_large"), "{body}");
    let (status, headers, body) = call(&app, "GET", "/teapot", "").await;
    assert_eq!(status, StatusCode::IM_A_TEAPOT);
    assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
    assert_eq!(headers["retry-after"], "3");
    assert!(body.contains("unreadable_body"), "{body}");
    let (status, headers, body) = call(&app, "GET", "/ready", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !headers["content-type"]
            .as_bytes()
            .starts_with(b"application/problem"),
        "{body}"
    );

    let mut config = SharedConfig::local("demo", 0);
    config.request_timeout_secs = 0;
    let app = demo().app(&config);
    let (status, _, body) = call(&app, "GET", "/slow", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("unavailable"));
}

#[tokio::test]
async fn every_answer_carries_the_request_ids_even_past_the_deadline() {
    // A service name of its own: the metrics recorder is process-wide.
    let mut config = SharedConfig::local("deadline-demo", 0);
    config.request_timeout_secs = 0;
    let app = named_demo("deadline-demo").app(&config);
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = http::Request::get("/slow")
        .header("x-request-id", "req-42")
        .header("traceparent", parent)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let trace = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        trace.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{trace}"
    );
    assert_ne!(trace, parent, "a span of its own");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["request_id"], "req-42", "{problem}");
    let (_, _, metrics) = call(&app, "GET", "/metrics", "").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains(r#"route="/slow""#)
            && l.contains(r#"status="503""#)
            && l.contains(r#"service="deadline-demo""#)),
        "{metrics}"
    );
}

/// Claims `/front/…` and answers with the request id it runs under.
struct EchoFront;

impl Front for EchoFront {
    fn claims(&self, request: &Request) -> bool {
        request.uri().path().starts_with("/front/")
    }

    fn answer(self: Arc<Self>, request: Request) -> FrontFuture {
        Box::pin(async move {
            if request.uri().path() == "/front/slow" {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            let id = crate::RequestContext::with_current(|c| c.request_id.to_string());
            let sensitive = request.headers()[AUTHORIZATION].is_sensitive();
            let mut response = (
                StatusCode::OK,
                format!("{} {sensitive}", id.unwrap_or_default()),
            )
                .into_response();
            response.extensions_mut().insert(RouteLabel("/front"));
            response
        })
    }
}

#[tokio::test]
async fn a_front_answers_what_it_claims_inside_the_request_layer() {
    let config = SharedConfig::local("front-demo", 0);
    let app = named_demo("front-demo")
        .with_front(Arc::new(EchoFront))
        .app(&config);
    let request = http::Request::get("/front/x")
        .header("x-request-id", "req-front")
        .header("authorization", "Bearer t")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "req-front");
    assert!(response.headers().contains_key("traceparent"));
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, "req-front true");
    // What it does not claim is the router's.
    assert_eq!(call(&app, "GET", "/health", "").await.0, StatusCode::OK);
    let (status, _, body) = call(&app, "GET", "/frontier", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("route_not_found"), "{body}");
    let (_, _, metrics) = call(&app, "GET", "/metrics", "").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains(r#"route="/front""#)
            && l.contains(r#"service="front-demo""#)),
        "{metrics}"
    );

    // The deadline holds on the front's answers too.
    let mut config = SharedConfig::local("front-demo", 0);
    config.request_timeout_secs = 0;
    let app = named_demo("front-demo")
        .with_front(Arc::new(EchoFront))
        .app(&config);
    let (status, headers, body) = call(&app, "GET", "/front/slow", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains(headers["x-request-id"].to_str().unwrap()),
        "{body}"
    );
}

#[tokio::test]
async fn the_operational_routes_are_the_ones_a_front_leaves_to_the_router() {
    let app = demo().app(&SharedConfig::local("demo", 0));
    for path in OPERATIONAL {
        assert!(is_operational(path));
        let status = call(&app, "GET", path, "").await.0;
        assert_ne!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(!is_operational("/healthz"));
}

#[tokio::test]
async fn the_access_log_line_carries_the_request_ids() {
    let lines = crate::telemetry::tests::Buffer::default();
    let subscriber = crate::telemetry::subscriber(
        crate::config::LogFormat::Json,
        "info",
        Some("proj".to_owned()),
        lines.clone(),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = named_demo("log-demo").app(&SharedConfig::local("log-demo", 0));
    let request = http::Request::post("/echo")
        .header("x-request-id", "req-log-7")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"a":1}"#))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let out = lines.text();
    let line: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["route"] == "/echo")
        .unwrap_or_else(|| panic!("no access log line in {out}"));
    assert_eq!(line["request_id"], "req-log-7", "{line}");
    assert_eq!(
        line["logging.googleapis.com/trace"],
        "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(line["httpRequest"]["status"], 200, "{line}");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let config = SharedConfig::local("demo", 0);
    let server = Server::bind(demo(), &config).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));
    let in_flight = tokio::spawn(async move { reqwest::get(format!("http://{addr}/slow")).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(()).unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.text().await.unwrap(), "done");
    running.await.unwrap().unwrap();
    assert!(
        reqwest::get(format!("http://{addr}/health")).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn metrics_show_only_the_services_own_series_and_need_an_admin_or_service_token() {
    use crate::identity::{
        Authenticator, JwkSet, SigningKey, StaticKeys, Verifier, VerifierConfig,
    };
    let config = SharedConfig::local("alpha", 0);
    let alpha = named_demo("alpha").app(&config);
    let beta = named_demo("beta").app(&SharedConfig::local("beta", 0));
    call(&alpha, "GET", "/nope-alpha", "").await;
    call(&beta, "GET", "/nope-beta", "").await;
    let (_, _, metrics) = call(&alpha, "GET", "/metrics", "").await;
    assert!(metrics.contains("service=\"alpha\""), "{metrics}");
    assert!(!metrics.contains("service=\"beta\""), "{metrics}");

    let key = SigningKey::generate().unwrap();
    let keys = StaticKeys::from_jwk_set(&JwkSet::from_signing_keys([&key]));
    let auth = Authenticator::new(Verifier::new(
        VerifierConfig::new("https://issuer.test", "craftchain"),
        Arc::new(keys),
    ));
    let guarded = named_demo("gamma")
        .ops_authenticator(Arc::new(auth))
        .app(&SharedConfig::local("gamma", 0));
    let (status, headers, _) = call(&guarded, "GET", "/metrics", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], crate::error::PROBLEM_JSON);
    let now = chrono::Utc::now().timestamp();
    let token = |role: &str| {
        key.sign(&serde_json::json!({
            "iss": "https://issuer.test", "aud": "craftchain", "sub": "someone",
            "iat": now, "exp": now + 600, "role": role,
        }))
        .unwrap()
    };
    let with = |token: String| {
        http::Request::builder()
            .uri("/metrics")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let buyer = guarded.clone().oneshot(with(token("buyer"))).await.unwrap();
    assert_eq!(buyer.status(), StatusCode::FORBIDDEN);
    for role in ["admin", "service"] {
        let ok = guarded.clone().oneshot(with(token(role))).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK, "{role}");
    }
    // /health stays open to probes.
    assert_eq!(call(&guarded, "GET", "/health", "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn readiness_is_checked_at_most_once_per_interval_however_often_it_is_asked() {
    let checks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = checks.clone();
    let service = Service::new("ready-demo", Router::new(), OpenApi::default()).readiness(
        CheckFn::new("counted", move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
        }),
    );
    let app = service.app(&SharedConfig::local("ready-demo", 0));
    let asks = (0..50).map(|_| call(&app, "GET", "/ready", ""));
    for (status, _, _) in futures::future::join_all(asks).await {
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(checks.load(std::sync::atomic::Ordering::SeqCst), 1);
}
