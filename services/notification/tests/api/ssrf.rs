//! Webhooks never reach private addresses: refused at registration and
//! again at send time, whatever the URL's notation or the DNS says.

use http::StatusCode;
use serde_json::{Value, json};
use testkit::users::BUYER;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{order_placed, spawn_with, test_settings};

fn strict() -> notification::Settings {
    let mut s = test_settings();
    s.webhooks.allow_private_networks = false;
    s.webhooks.allow_http = false;
    s
}

#[tokio::test]
async fn every_private_form_is_refused_at_registration() {
    let app = spawn_with(false, strict()).await;
    let names = [
        ("loopback.test", "127.0.0.1"),
        ("private.test", "10.0.0.7"),
        ("metadata.test", "169.254.169.254"),
        ("cgnat.test", "100.64.1.1"),
        ("multicast.test", "224.0.0.251"),
        ("unspecified.test", "0.0.0.0"),
        ("v6-loopback.test", "::1"),
        ("v6-local.test", "fd00::1"),
        ("v6-link.test", "fe80::1"),
        ("mapped.test", "::ffff:127.0.0.1"),
        ("nat64.test", "64:ff9b::a9fe:a9fe"),
    ];
    for (host, ip) in names {
        app.dns.answer(host, &[ip]);
    }
    // One public and one private answer: refused (every address counts).
    app.dns.answer("mixed.test", &["93.184.216.34", "10.1.1.1"]);
    let mut urls: Vec<String> = names
        .iter()
        .map(|(h, _)| format!("https://{h}/hook"))
        .collect();
    urls.extend(
        [
            "https://mixed.test/hook",
            "https://loopback.test./hook",
            "https://LOOPBACK.test/hook",
            "https://127.0.0.1/hook",
            "https://2130706433/hook",
            "https://0x7f000001/hook",
            "https://0x7f.1/hook",
            "https://0177.0.0.1/hook",
            "https://127.1/hook",
            "https://0xa9fea9fe/latest/meta-data",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[::ffff:169.254.169.254]/hook",
            "https://[64:ff9b::7f00:1]/hook",
            "https://[fe80::1]/hook",
            "https://unknown.test/hook",
            // Not https, or with credentials.
            "http://93.184.216.34/hook",
            "ftp://93.184.216.34/hook",
            "https://user:pass@93.184.216.34/hook",
            "not a url",
        ]
        .map(str::to_owned),
    );
    for url in &urls {
        let r = app
            .post_json(
                "/notifications/webhooks",
                &json!({"url": url}),
                Some(&app.buyer()),
            )
            .await;
        r.assert_invalid_fields(&["url"]);
    }
    let list = app.get("/notifications/webhooks", Some(&app.buyer())).await;
    assert_eq!(list.json::<Value>()["items"], json!([]));
    // A public address passes.
    app.dns.answer("shop.test", &["93.184.216.34"]);
    app.post_json(
        "/notifications/webhooks",
        &json!({"url": "https://shop.test/hook"}),
        Some(&app.buyer()),
    )
    .await
    .assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn a_dns_answer_that_turns_private_after_registration_is_refused_at_send_time() {
    // A receiver on this machine that must never be reached.
    let receiver = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let port = receiver.address().port();
    let mut settings = strict();
    settings.webhooks.allow_http = true;
    settings.max_attempts = 2;
    let app = spawn_with(true, settings).await;
    let turns_to = [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "::1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",
        "fe80::1",
    ];
    // Each name is public when its endpoint is registered...
    for i in 0..turns_to.len() {
        let host = format!("rebind-{i}.test");
        app.dns.answer(&host, &["93.184.216.34"]);
        let r = app
            .post_json(
                "/notifications/webhooks",
                &json!({"url": format!("http://{host}:{port}/hook")}),
                Some(&app.buyer()),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
    }
    // ...and private when a message is sent.
    for (i, ip) in turns_to.iter().enumerate() {
        app.dns.answer(&format!("rebind-{i}.test"), &[ip]);
    }
    let id = app.send_ok(order_placed(BUYER, "webhook")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "failed");
    let attempts = m["attempts"].as_array().unwrap();
    // Two attempts at each endpoint, every one refused before connecting,
    // saying so without naming the address the name resolved to.
    assert_eq!(attempts.len(), 2 * turns_to.len());
    for a in attempts {
        let detail = a["detail"].as_str().unwrap();
        assert!(
            detail.contains("refused before sending") && detail.contains("not a public address"),
            "{detail}"
        );
        assert!(
            !detail.contains("127.0.0.1") && !detail.contains("10.0.0.1"),
            "{detail}"
        );
    }
    assert!(receiver.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_request_goes_to_the_checked_address_whatever_the_host_looks_like() {
    let receiver = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let port = receiver.address().port();
    // Only the service's resolver knows these names: a request that
    // reached the receiver connected to the address the guard checked.
    let app = spawn_with(true, test_settings()).await;
    app.dns.answer("pinned.test", &["127.0.0.1"]);
    app.endpoint(BUYER, &format!("http://pinned.test.:{port}/dot"))
        .await;
    app.endpoint(BUYER, &format!("http://PINNED.test:{port}/case"))
        .await;
    let id = app.send_ok(order_placed(BUYER, "webhook")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    let paths: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/dot", "/case"]);
}
