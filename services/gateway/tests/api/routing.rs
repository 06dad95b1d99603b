//! Which requests reach which service, and with which headers: path tricks
//! and internal routes never leave the gateway, identity and forwarding
//! headers a client made up never arrive as sent.

use crate::helpers::TestApp;
use common::identity::Role;

#[tokio::test]
async fn an_unknown_prefix_is_a_404_problem() {
    let app = TestApp::spawn().await;

    for path in ["/unknown", "/unknown/x", "/productsx", "/"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            crate::helpers::problem_code(response).await,
            "route_not_found",
            "{path}"
        );
    }
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn path_tricks_and_internal_routes_are_404_and_never_reach_an_upstream() {
    let app = TestApp::spawn().await;
    let token = app.token("user-1");
    let bearer = format!("Bearer {token}");

    // Sent over a plain socket: an HTTP client would resolve the dots and
    // percent-encoded dots before sending.
    for target in [
        "/auth/../events/push",
        "/auth/./me",
        "/auth//me",
        "//auth/me",
        "/products/../metrics",
        "/products/..",
        "/products/%2e%2e/admin",
        "/products/%2E%2E%2Fevents%2Fpush",
        "/media/a%2fb",
        "/media/a%5cb",
        "/media/a%00",
        "/media/a%252e%252e",
        "/auth/service-token",
        "/auth/service-token/refresh",
        "/events/push",
        "/admin/events/dead-letters",
    ] {
        for method in ["GET", "POST"] {
            let response = app
                .raw(
                    method,
                    target,
                    &[("Authorization", &bearer), ("Content-Length", "0")],
                )
                .await;
            assert_eq!(response.status, 404, "{method} {target}: {response:?}");
            assert!(
                response.body.contains("\"code\":\"route_not_found\""),
                "{method} {target}: {}",
                response.body
            );
        }
    }
    assert!(
        app.upstream.requests().is_empty(),
        "reached upstream: {:?}",
        app.upstream
            .requests()
            .iter()
            .map(|s| s.uri.clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_gateways_own_operational_routes_answer_without_an_upstream() {
    let app = TestApp::spawn().await;

    assert_eq!(app.get("/health").await.status(), 200);
    // Metrics are for admins and services only.
    assert_eq!(app.get("/metrics").await.status(), 401);
    let buyer = app.token("u1");
    assert_eq!(app.get_as("/metrics", &buyer).await.status(), 403);
    let admin = app
        .key
        .sign(&testkit::claims("admin-1", Role::Admin))
        .unwrap();
    assert_eq!(app.get_as("/metrics", &admin).await.status(), 200);
    assert!(app.upstream.requests().is_empty());
}

#[tokio::test]
async fn the_query_string_reaches_the_upstream_unchanged() {
    let app = TestApp::spawn().await;

    let response = app.get("/products?q=clay%2Fpot&tag=a&tag=b").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        app.upstream.single().uri,
        "/products?q=clay%2Fpot&tag=a&tag=b"
    );
}

#[tokio::test]
async fn an_absolute_form_request_reaches_the_upstream_in_origin_form() {
    let app = TestApp::spawn().await;

    let response = app
        .raw("GET", "http://evil.example/products?q=pot", &[])
        .await;

    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(app.upstream.single().uri, "/products?q=pot");
}

#[tokio::test]
async fn spoofed_identity_and_forwarding_headers_never_reach_the_upstream_as_sent() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .get(app.url("/orders"))
        .bearer_auth(app.token("user-1"))
        .header("x-user-id", "admin-1")
        .header("x-user-role", "admin")
        .header("x-caller-role", "admin")
        .header("x-caller-id", "admin-1")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "for=6.6.6.6;host=evil.example;proto=https")
        .header("x-real-ip", "6.6.6.6")
        .header("x-service-secret", "guess")
        .header("x-craftchain-service", "auth")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let seen = app.upstream.single();
    for name in [
        "x-user-id",
        "x-user-role",
        "x-caller-role",
        "x-caller-id",
        "forwarded",
        "x-real-ip",
        "x-service-secret",
        "x-craftchain-service",
    ] {
        assert_eq!(seen.header(name), None, "{name} reached the upstream");
    }
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(
        seen.header("x-forwarded-host"),
        Some(app.gateway.addr.to_string().as_str()),
        "the Host the client used, not the one it claimed"
    );
    assert_eq!(seen.headers.get_all("x-forwarded-for").iter().count(), 1);
}

#[tokio::test]
async fn the_upstream_gets_a_request_id_and_traceparent_and_the_client_gets_the_id_back() {
    let app = TestApp::spawn().await;

    let response = app.get("/products").await;

    assert_eq!(response.status(), 200);
    let returned = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let seen = app.upstream.single();
    assert_eq!(seen.header("x-request-id"), Some(returned.as_str()));
    assert!(!returned.is_empty());
    let traceparent = seen.header("traceparent").unwrap();
    assert!(
        common::context::TraceParent::parse(traceparent).is_some(),
        "{traceparent}"
    );
}

#[tokio::test]
async fn a_clients_request_id_and_trace_are_carried_to_the_upstream() {
    let app = TestApp::spawn().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = format!("00-{trace_id}-00f067aa0ba902b7-01");

    let response = app
        .client
        .get(app.url("/products"))
        .header("x-request-id", "req-abc-123")
        .header("traceparent", &parent)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "req-abc-123"
    );
    let seen = app.upstream.single();
    assert_eq!(seen.header("x-request-id"), Some("req-abc-123"));
    let forwarded = seen.header("traceparent").unwrap();
    assert!(
        forwarded.starts_with(&format!("00-{trace_id}-")),
        "{forwarded}"
    );
    assert_ne!(forwarded, parent, "the gateway forwards a child span");
}

#[tokio::test]
async fn hop_by_hop_headers_are_dropped_and_the_rest_kept() {
    let app = TestApp::spawn().await;

    let response = app
        .raw(
            "GET",
            "/products",
            &[
                ("Connection", "x-custom, x-other"),
                ("X-Custom", "1"),
                ("X-Other", "2"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Authorization", "Basic c2VjcmV0"),
                ("Proxy-Connection", "keep-alive"),
                ("X-Kept", "yes"),
            ],
        )
        .await;

    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.header("x-request-id").is_some());
    let seen = app.upstream.single();
    for name in [
        "x-custom",
        "x-other",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
    ] {
        assert_eq!(seen.header(name), None, "{name} reached the upstream");
    }
    assert_eq!(seen.header("x-kept"), Some("yes"));
}

#[tokio::test]
async fn web_origins_get_cors_and_preflights_stay_at_the_gateway() {
    let app = TestApp::spawn().await;
    let allowed = "http://localhost:3000";

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/orders"))
        .header("origin", allowed)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], allowed);
    assert!(
        app.upstream.requests().is_empty(),
        "a preflight is answered here"
    );

    for path in ["/products", "/products/p1"] {
        let response = app
            .client
            .get(app.url(path))
            .header("origin", allowed)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            allowed,
            "{path}"
        );
        assert!(
            response
                .headers()
                .get_all("vary")
                .iter()
                .any(|v| v.to_str().unwrap().contains("origin")),
            "{path}"
        );
    }
    // What the gateway cannot route is a problem the page can read.
    let unknown = app
        .client
        .get(app.url("/nothing/here"))
        .header("origin", allowed)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.headers()["access-control-allow-origin"], allowed);
    let elsewhere = app
        .client
        .get(app.url("/products"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 200);
    assert!(
        elsewhere
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_accept_it() {
    let app = TestApp::spawn().await;
    let path = format!("/products?q={}", "clay-pot-".repeat(20));

    let compressed = app
        .client
        .get(app.url(&path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    let plain = app.get(&path).await;

    assert_eq!(compressed.status(), 200);
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let zipped = compressed.bytes().await.unwrap();
    assert!(zipped.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    assert!(
        zipped.len() < plain.len(),
        "{} vs {}",
        zipped.len(),
        plain.len()
    );
}
