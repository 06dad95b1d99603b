//! Rate limits (per user, login per IP) and body limits.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use gateway::config::Quota;

use crate::helpers::{TestApp, problem_code, streamed_body};

const TWO_PER_SECOND: Quota = Quota {
    requests: 2,
    per_secs: 1,
    burst: 2,
};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn the_third_read_in_a_second_is_429_and_the_next_passes_after_retry_after() {
    let app = TestApp::spawn_with(|s| s.read_quota = TWO_PER_SECOND).await;
    let token = app.token("user-1");

    for _ in 0..2 {
        let response = app.get_as("/orders", &token).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-policy"), "\"read\";q=2;w=1");
    }
    let refused = app.get_as("/orders", &token).await;

    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "ratelimit-policy"), "\"read\";q=2;w=1");
    assert_eq!(header(&refused, "ratelimit"), "\"read\";r=0;t=1");
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert_eq!(retry_after, 1);
    assert_eq!(problem_code(refused).await, "rate_limited");
    assert_eq!(
        app.upstream.requests().len(),
        2,
        "the refused one stayed out"
    );

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(app.get_as("/orders", &token).await.status(), 200);
    assert_eq!(app.upstream.requests().len(), 3);
}

#[tokio::test]
async fn two_users_have_separate_buckets() {
    let app = TestApp::spawn_with(|s| s.read_quota = TWO_PER_SECOND).await;
    let (alice, bob) = (app.token("alice"), app.token("bob"));

    for _ in 0..2 {
        assert_eq!(app.get_as("/orders", &alice).await.status(), 200);
    }
    assert_eq!(app.get_as("/orders", &alice).await.status(), 429);

    assert_eq!(app.get_as("/orders", &bob).await.status(), 200);
    assert_eq!(app.get("/products").await.status(), 200, "anonymous: by IP");
    assert_eq!(app.upstream.requests().len(), 4);
}

#[tokio::test]
async fn the_login_quota_is_keyed_by_client_ip_whoever_the_token_names() {
    let app = TestApp::spawn_with(|s| {
        s.auth_quota = Quota {
            requests: 2,
            per_secs: 60,
            burst: 2,
        };
    })
    .await;
    let login = |client: &reqwest::Client, token: Option<String>| {
        let mut request = client.post(app.url("/auth/login"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };

    assert_eq!(login(&app.client, None).await.status(), 200);
    assert_eq!(
        login(&app.client, Some(app.token("alice"))).await.status(),
        200
    );
    let third = login(&app.client, Some(app.token("bob"))).await;
    assert_eq!(third.status(), 429, "another user, same IP");
    assert_eq!(header(&third, "ratelimit-policy"), "\"auth\";q=2;w=60");
    assert!(header(&third, "retry-after").parse::<u64>().unwrap() >= 1);
    let spoofed = app
        .client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", "6.6.6.6")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 429, "X-Forwarded-For is not trusted");

    let other_ip = reqwest::Client::builder()
        .no_gzip()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap();
    assert_eq!(login(&other_ip, None).await.status(), 200, "another IP");

    let reached: Vec<_> = app
        .upstream
        .requests()
        .iter()
        .map(|s| s.header("x-forwarded-for").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(reached, ["127.0.0.1", "127.0.0.1", "127.0.0.2"]);
}

#[tokio::test]
async fn a_body_over_the_limit_with_content_length_is_413_and_never_reaches_the_upstream() {
    let app = TestApp::spawn_with(|s| s.body_limit_bytes = 16 * 1024).await;
    let token = app.token("user-1");

    let response = app
        .client
        .post(app.url("/orders"))
        .bearer_auth(&token)
        .body(vec![b'x'; 16 * 1024 + 1])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    assert_eq!(problem_code(response).await, "payload_too_large");
    assert!(app.upstream.requests().is_empty());

    let at_limit = app
        .client
        .post(app.url("/orders"))
        .bearer_auth(&token)
        .body(vec![b'x'; 16 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(at_limit.status(), 200);
    let seen = app.upstream.single();
    assert_eq!(seen.body_len(), 16 * 1024);
    assert!(seen.body_complete());
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_and_the_upstream_never_gets_more_than_the_limit() {
    let limit = 16 * 1024;
    let app = TestApp::spawn_with(|s| s.body_limit_bytes = limit).await;

    let response = app
        .client
        .post(app.url("/orders"))
        .bearer_auth(app.token("user-1"))
        .body(streamed_body(4096, 64))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    assert_eq!(problem_code(response).await, "payload_too_large");
    // The head went upstream before the body was known to be too large;
    // the body was cut off at the limit.
    for seen in app.upstream.requests() {
        assert!(
            seen.body_len() <= limit,
            "{} bytes upstream",
            seen.body_len()
        );
        assert!(!seen.body_complete(), "the upstream took it as complete");
    }
}

#[tokio::test]
async fn media_uploads_have_their_own_larger_body_limit() {
    let app = TestApp::spawn_with(|s| {
        s.body_limit_bytes = 16 * 1024;
        s.media_body_limit_bytes = 64 * 1024;
    })
    .await;
    let token = app.token("user-1");
    let upload = |body: Vec<u8>| {
        app.client
            .post(app.url("/media/upload"))
            .bearer_auth(&token)
            .body(body)
            .send()
    };

    assert_eq!(upload(vec![b'x'; 32 * 1024]).await.unwrap().status(), 200);
    let too_large = upload(vec![b'x'; 64 * 1024 + 1]).await.unwrap();

    assert_eq!(too_large.status(), 413);
    assert_eq!(app.upstream.single().body_len(), 32 * 1024);
}
