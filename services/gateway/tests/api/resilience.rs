//! What clients see when a service is down, slow or full: 502, then a fast
//! 503 from the open breaker, recovery through a probe, 504 on a timeout,
//! 503 `upstream_busy` (never 502, breaker untouched) when every connection
//! to it is busy, and `/ready` naming the upstream that is down.

use std::time::{Duration, Instant};

use crate::helpers::{TestApp, dead_url, problem_code, streamed_body};

#[tokio::test]
async fn a_stopped_upstream_is_502_upstream_unreachable_within_two_seconds() {
    let mut app = TestApp::spawn().await;
    let token = app.token("user-1");
    assert_eq!(app.get("/products").await.status(), 200);

    app.upstream.stop();

    for (method, path) in [
        (reqwest::Method::GET, "/products"),
        (reqwest::Method::POST, "/orders"),
    ] {
        let started = Instant::now();
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{method} {path}"
        );
        assert_eq!(response.status(), 502, "{method} {path}");
        assert_eq!(problem_code(response).await, "upstream_unreachable");
    }
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_recovers_through_a_probe() {
    let mut app = TestApp::spawn().await;
    app.upstream.stop();

    for _ in 0..3 {
        let response = app.get("/products").await;
        assert_eq!(response.status(), 502);
        assert_eq!(problem_code(response).await, "upstream_unreachable");
    }

    // The upstream is back, but the open breaker answers for it.
    app.upstream.restart().await;
    let started = Instant::now();
    let refused = app.get("/products").await;
    assert!(started.elapsed() < Duration::from_millis(200), "fails fast");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers().get("retry-after").unwrap(), "1");
    assert_eq!(problem_code(refused).await, "unavailable");
    assert!(
        app.upstream.requests().is_empty(),
        "the open breaker sent nothing upstream"
    );
    // The breaker is per service: another service's route still goes out.
    assert_eq!(app.get("/auth/.well-known/jwks.json").await.status(), 200);

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(app.get("/products").await.status(), 200, "the probe");
    for _ in 0..3 {
        assert_eq!(app.get("/products").await.status(), 200, "closed again");
    }
    let products = app
        .upstream
        .requests()
        .iter()
        .filter(|s| s.path() == "/products")
        .count();
    assert_eq!(products, 4);
}

#[tokio::test]
async fn a_service_that_answers_503_is_reachable_and_keeps_its_breaker_closed() {
    let app = TestApp::spawn().await;
    let token = app.token("buyer-1");
    for _ in 0..10 {
        let answer = app.get_as("/orders/unavailable", &token).await;
        assert_eq!(
            answer.status(),
            503,
            "the service's own answer passes through"
        );
    }
    let next = app.get_as("/orders/fine", &token).await;
    assert_eq!(
        next.status(),
        200,
        "its answers are not failures to reach it"
    );
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_again() {
    let mut app = TestApp::spawn().await;
    app.upstream.stop();
    for _ in 0..3 {
        assert_eq!(app.get("/products").await.status(), 502);
    }
    assert_eq!(app.get("/products").await.status(), 503);

    tokio::time::sleep(Duration::from_millis(350)).await;
    let probe = app.get("/products").await;
    assert_eq!(probe.status(), 502, "the probe went out and failed");

    let refused = app.get("/products").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(problem_code(refused).await, "unavailable");
}

#[tokio::test]
async fn a_probe_the_client_gives_up_on_does_not_keep_the_breaker_from_closing() {
    let mut app = TestApp::spawn().await;
    let token = app.token("user-1");
    app.upstream.stop();
    for _ in 0..3 {
        assert_eq!(app.get_as("/orders", &token).await.status(), 502);
    }
    app.upstream.restart().await;
    tokio::time::sleep(Duration::from_millis(350)).await;

    // The probe is a slow request whose client hangs up after 100 ms.
    let gave_up = app
        .client
        .get(app.url("/orders/slow"))
        .bearer_auth(&token)
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));

    // The upstream is healthy: the next request must be let through soon.
    let deadline = Instant::now() + Duration::from_millis(1500);
    loop {
        let status = app.get_as("/orders", &token).await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            Instant::now() < deadline,
            "the breaker stayed half-open after its probe was abandoned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_oversized_probe_does_not_keep_the_breaker_from_closing() {
    let mut app = TestApp::spawn_with(|s| s.body_limit_bytes = 1024).await;
    let token = app.token("user-1");
    app.upstream.stop();
    for _ in 0..3 {
        assert_eq!(app.get_as("/orders", &token).await.status(), 502);
    }
    app.upstream.restart().await;
    tokio::time::sleep(Duration::from_millis(350)).await;

    // The probe's body turns out too large: it says nothing about the
    // upstream's health.
    let probe = app
        .client
        .post(app.url("/orders"))
        .bearer_auth(&token)
        .body(streamed_body(1024, 4))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 413);

    assert_eq!(app.get_as("/orders", &token).await.status(), 200);
}

#[tokio::test]
async fn a_slow_upstream_is_504_upstream_timeout_after_about_the_timeout() {
    let app = TestApp::spawn().await;
    let started = Instant::now();

    let response = app.get_as("/orders/slow", &app.token("user-1")).await;

    let elapsed = started.elapsed();
    assert_eq!(response.status(), 504);
    assert_eq!(problem_code(response).await, "upstream_timeout");
    assert!(
        elapsed >= Duration::from_millis(950) && elapsed < Duration::from_millis(1900),
        "answered after {elapsed:?} with a 1 s timeout"
    );
    assert_eq!(app.upstream.single().path(), "/orders/slow");
}

#[tokio::test]
async fn ready_reports_every_upstream() {
    let app = TestApp::spawn().await;

    let response = app.get("/ready").await;

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let checks = body["checks"].as_object().unwrap();
    assert_eq!(checks.len(), crate::helpers::SERVICES.len());
    for service in crate::helpers::SERVICES {
        assert_eq!(checks[service], "ok", "{service}");
    }
}

#[tokio::test]
async fn ready_is_503_and_names_the_upstream_that_is_down() {
    let dead = dead_url().await;
    let app = TestApp::spawn_with(|s| {
        s.upstreams.insert("ml".to_owned(), dead);
    })
    .await;

    let response = app.get("/ready").await;

    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["ml"], "unreachable");
    for service in crate::helpers::SERVICES.iter().filter(|s| **s != "ml") {
        assert_eq!(body["checks"][service], "ok", "{service}");
    }
}

#[tokio::test]
async fn a_full_upstream_is_503_upstream_busy_never_502_and_keeps_its_breaker_closed() {
    let app = TestApp::spawn_with(|s| {
        s.upstream_max_connections = 2;
        s.upstream_wait_ms = 100;
    })
    .await;
    let token = app.token("user-1");
    let started = Instant::now();
    let answers = futures::future::join_all((0..8).map(|_| async {
        let response = app.get_as("/orders/linger", &token).await;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let code = if status == 200 {
            String::new()
        } else {
            problem_code(response).await
        };
        (status, retry_after, code)
    }))
    .await;
    let ok = answers.iter().filter(|(s, ..)| *s == 200).count();
    let busy: Vec<_> = answers.iter().filter(|(s, ..)| *s == 503).collect();
    assert_eq!(ok, 2, "as many as the bound: {answers:?}");
    assert_eq!(busy.len(), 6, "{answers:?}");
    for (_, retry_after, code) in busy {
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(code, "upstream_busy");
    }
    assert!(
        started.elapsed() < crate::helpers::LINGER * 3,
        "the excess did not wait for the upstream"
    );
    let reached = app
        .upstream
        .requests()
        .iter()
        .filter(|s| s.path() == "/orders/linger")
        .count();
    assert_eq!(reached, 2, "the upstream saw only what it was given");
    // Six refusals, more than the breaker's three failures: still closed.
    assert_eq!(app.get_as("/orders/fine", &token).await.status(), 200);
}
