//! The notification service under test, a DNS it controls, and waiting
//! for delivery.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::StatusCode;
use notification::Settings;
use notification::domain::campaigns::{Contact, ContactPage, Directory, Targeting, directory_path};
use notification::domain::ssrf::Resolver;
use serde_json::{Value, json};
use testkit::TestService;

/// A resolver answering what the test says (and nothing else).
#[derive(Default)]
pub(crate) struct FakeDns(Mutex<HashMap<String, Vec<IpAddr>>>);

impl FakeDns {
    pub(crate) fn answer(&self, host: &str, addrs: &[&str]) {
        let addrs = addrs.iter().map(|a| a.parse().unwrap()).collect();
        self.0.lock().unwrap().insert(host.to_owned(), addrs);
    }
}

#[async_trait]
impl Resolver for FakeDns {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let found = self.0.lock().unwrap().get(host).cloned();
        found
            .map(|ips| {
                ips.into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect()
            })
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"))
    }
}

/// A directory of accounts (the auth service's `GET /auth/users`), two
/// per page; it records what it was asked.
#[derive(Default)]
pub(crate) struct FakeDirectory {
    pub(crate) contacts: Mutex<Vec<Contact>>,
    pub(crate) asked: Mutex<Vec<String>>,
}

#[async_trait]
impl Directory for FakeDirectory {
    async fn page(
        &self,
        targeting: &Targeting,
        cursor: Option<&str>,
    ) -> Result<ContactPage, common::ClientError> {
        self.asked
            .lock()
            .unwrap()
            .push(directory_path(targeting, cursor));
        let all = self.contacts.lock().unwrap().clone();
        let from: usize = cursor.map_or(0, |c| c.parse().unwrap());
        let items: Vec<Contact> = all.iter().skip(from).take(2).cloned().collect();
        let next = (from + 2 < all.len()).then(|| (from + 2).to_string());
        Ok(ContactPage {
            items,
            next_cursor: next,
        })
    }
}

pub(crate) struct TestApp {
    service: TestService,
    pub(crate) dns: Arc<FakeDns>,
    pub(crate) directory: Arc<FakeDirectory>,
}

impl Deref for TestApp {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.service
    }
}

/// Fast retries; webhooks may reach this machine's receivers over http.
pub(crate) fn test_settings() -> Settings {
    let mut s = Settings {
        poll_ms: 20,
        retry_base_ms: 50,
        retry_max_ms: 200,
        ..Settings::default()
    };
    s.webhooks.allow_private_networks = true;
    s.webhooks.allow_http = true;
    s.webhooks.timeout_ms = 3_000;
    s
}

/// The service with `settings`, served (workers running) or in process.
pub(crate) async fn spawn_with(served: bool, settings: Settings) -> TestApp {
    spawn_full(served, settings, None).await
}

/// As [`spawn_with`], asking `metadata` for Google access tokens.
pub(crate) async fn spawn_full(
    served: bool,
    settings: Settings,
    metadata: Option<url::Url>,
) -> TestApp {
    let dns = Arc::new(FakeDns::default());
    let resolver = dns.clone();
    let directory = Arc::new(FakeDirectory::default());
    let people = directory.clone();
    let mut builder = TestService::builder(notification::NAME);
    if served {
        builder = builder.served();
    }
    let service = builder
        .start(move |mut shared, auth| {
            if let Some(url) = &metadata {
                shared.service_auth.metadata_url = url.clone();
            }
            let config = notification::Config {
                shared,
                service: settings.clone(),
            };
            let resolver = resolver.clone();
            let directory = people.clone();
            async move {
                let deps = notification::Deps {
                    auth,
                    resolver,
                    directory,
                };
                notification::build_with(&config, deps).await
            }
        })
        .await;
    TestApp {
        service,
        dns,
        directory,
    }
}

/// Served, with the test settings.
pub(crate) async fn spawn() -> TestApp {
    spawn_with(true, test_settings()).await
}

impl TestApp {
    /// Stop, then serve again with workers (see `restart_served`).
    pub(crate) async fn restart_served(self) -> TestApp {
        TestApp {
            service: self.service.restart_served().await,
            dns: self.dns,
            directory: self.directory,
        }
    }

    /// `POST /notifications/send` as a service; the answer.
    pub(crate) async fn send(&self, body: Value) -> testkit::http::TestResponse {
        self.post_json("/notifications/send", &body, Some(&self.service_token()))
            .await
    }

    /// Send and expect 202; the id.
    pub(crate) async fn send_ok(&self, body: Value) -> String {
        let r = self.send(body).await;
        r.assert_status(StatusCode::ACCEPTED);
        r.json::<Value>()["id"].as_str().unwrap().to_owned()
    }

    /// The message `id` as an admin sees it.
    pub(crate) async fn message(&self, id: &str) -> Value {
        let r = self
            .get(&format!("/notifications/{id}"), Some(&self.admin()))
            .await;
        r.assert_status(StatusCode::OK);
        r.json()
    }

    /// Wait until message `id` is no longer queued or sending.
    pub(crate) async fn settled(&self, id: &str) -> Value {
        for _ in 0..400 {
            let m = self.message(id).await;
            if !matches!(m["status"].as_str(), Some("queued" | "sending")) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("message {id} never settled: {}", self.message(id).await);
    }

    /// Set `user`'s preferences as an admin.
    pub(crate) async fn set_preferences(&self, user: &str, prefs: Value) {
        self.put_json(
            &format!("/notifications/preferences/{user}"),
            &prefs,
            Some(&self.admin()),
        )
        .await
        .assert_status(StatusCode::OK);
    }

    /// Register a webhook endpoint for `user`; (id, secret).
    pub(crate) async fn endpoint(&self, user: &str, url: &str) -> (String, String) {
        let r = self
            .post_json(
                "/notifications/webhooks",
                &json!({"url": url, "user_id": user}),
                Some(&self.admin()),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        let v: Value = r.json();
        (
            v["id"].as_str().unwrap().to_owned(),
            v["secret"].as_str().unwrap().to_owned(),
        )
    }
}

/// A message of the built-in `order_placed` template to `user`.
pub(crate) fn order_placed(user: &str, channel: &str) -> Value {
    json!({
        "user_id": user,
        "channel": channel,
        "template": "order_placed",
        "data": {"order_id": "o-1", "total": "₹1,200.00"},
    })
}
