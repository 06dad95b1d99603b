//! The in-process test app: the auth service's whole HTTP stack (middleware
//! included) over a fresh temporary data directory, driven with `oneshot`,
//! plus typed request helpers, account fixtures and token decoding.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::identity::{Claims, JwkSet, Role};
use common::serve::App;
use events::OutboxEntry;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use secrecy::SecretString;
use serde_json::{Value, json};
use store::{Query, Store};
use tempfile::TempDir;
use tower::ServiceExt as _;

pub(crate) use testkit::http::{TestResponse, field_code};

/// The bootstrap admin of apps built [`TestAppBuilder::with_admin`].
pub(crate) const ADMIN_EMAIL: &str = "admin@craftchain.test";
pub(crate) const ADMIN_PASSWORD: &str = "admin-kantha-2026-blue";

/// A password every policy check accepts.
pub(crate) const GOOD_PASSWORD: &str = "kantha-stitch-9-blue";

/// A checksummed (EIP-55) wallet address.
pub(crate) const WALLET: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// One running auth service with its own data directory.
pub(crate) struct TestApp {
    app: App,
    data_dir: TempDir,
}

/// How to configure a [`TestApp`] before it starts.
pub(crate) struct TestAppBuilder {
    config: auth::Config,
}

impl TestApp {
    /// An app with default settings (cheap argon2, no admin, no services).
    pub(crate) async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    pub(crate) fn builder() -> TestAppBuilder {
        let mut config = auth::Config::local(auth::NAME, 0);
        config.service.argon2_memory_kib = 8 * 1024;
        config.service.argon2_iterations = 1;
        TestAppBuilder { config }
    }

    /// Send a request through the whole app.
    pub(crate) async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .app
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
        TestResponse::json_answer(status, headers, bytes)
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.send(
            request(Method::GET, path, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(json_request(Method::POST, path, body, token))
            .await
    }

    pub(crate) async fn put_json(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> TestResponse {
        self.send(json_request(Method::PUT, path, body, token))
            .await
    }

    pub(crate) async fn patch_json(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
        if_match: Option<&str>,
    ) -> TestResponse {
        let mut request = json_request(Method::PATCH, path, body, token);
        if let Some(etag) = if_match {
            request
                .headers_mut()
                .insert(header::IF_MATCH, etag.parse().unwrap());
        }
        self.send(request).await
    }

    /// `POST` a raw body with the given `Content-Type` (none if `None`).
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        body: &'static str,
        content_type: Option<&str>,
    ) -> TestResponse {
        let mut builder = request(Method::POST, path, None);
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        self.send(builder.body(Body::from(body)).unwrap()).await
    }

    /// Sign up a fresh account of `role` with a unique email; panics unless 201.
    pub(crate) async fn signup(&self, role: Role) -> Account {
        let email = unique_email(role.as_str());
        let response = self
            .post_json("/auth/signup", &signup_body(&email, role.as_str()), None)
            .await;
        response.assert_status(StatusCode::CREATED);
        let signed_up: auth::SignupResponse = response.json();
        Account {
            uid: signed_up.user.id,
            email,
            password: GOOD_PASSWORD.to_owned(),
            id_token: signed_up.session.id_token,
            refresh_token: signed_up.session.refresh_token,
        }
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post_json(
            "/auth/login",
            &json!({ "email": email, "password": password }),
            None,
        )
        .await
    }

    pub(crate) async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.post_json(
            "/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
            None,
        )
        .await
    }

    /// Log in as the bootstrap admin (the app must be built `with_admin`).
    pub(crate) async fn admin_token(&self) -> String {
        let response = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        response.assert_status(StatusCode::OK);
        response.json::<auth::TokenPair>().id_token
    }

    pub(crate) async fn jwks(&self) -> JwkSet {
        let response = self.get("/auth/.well-known/jwks.json", None).await;
        response.assert_status(StatusCode::OK);
        response.json()
    }

    /// Every outbox entry, read from the service's SQLite file.
    pub(crate) async fn outbox(&self) -> Vec<OutboxEntry> {
        let path = self.data_dir.path().join(auth::NAME).join("auth.sqlite");
        let store = Store::open_sqlite(path).expect("opening the auth store");
        let (entries, _) = store
            .collection::<OutboxEntry>()
            .query(&Query::new().limit(1000))
            .await
            .expect("reading the outbox");
        entries.into_iter().map(|e| e.value).collect()
    }
}

impl TestAppBuilder {
    /// Create the bootstrap admin [`ADMIN_EMAIL`] / [`ADMIN_PASSWORD`].
    pub(crate) fn with_admin(mut self) -> Self {
        self.config.service.bootstrap_admin_email = Some(ADMIN_EMAIL.to_owned());
        self.config.service.bootstrap_admin_password = Some(SecretString::from(ADMIN_PASSWORD));
        self
    }

    /// Let `service` obtain service tokens with `secret`.
    pub(crate) fn with_service_secret(mut self, service: &str, secret: &str) -> Self {
        self.config
            .service
            .service_secrets
            .insert(service.to_owned(), SecretString::from(secret));
        self
    }

    pub(crate) fn lockout_threshold(mut self, failures: u32) -> Self {
        self.config.service.lockout_threshold = failures;
        self
    }

    pub(crate) async fn spawn(mut self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("creating a temp data dir");
        self.config.shared.data_dir = data_dir.path().to_path_buf();
        let service = auth::build(&self.config)
            .await
            .expect("building the auth service");
        TestApp {
            app: service.app(&self.config.shared),
            data_dir,
        }
    }
}

/// A signed-up account and its first session.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) uid: String,
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) id_token: String,
    pub(crate) refresh_token: String,
}

fn request(method: Method, path: &str, token: Option<&str>) -> http::request::Builder {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
}

fn json_request(method: Method, path: &str, body: &Value, token: Option<&str>) -> Request<Body> {
    request(method, path, token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// An address no other account of this process uses.
pub(crate) fn unique_email(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}{}@example.in",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A valid sign-up body.
pub(crate) fn signup_body(email: &str, role: &str) -> Value {
    json!({
        "email": email,
        "password": GOOD_PASSWORD,
        "display_name": "Meera Devi",
        "role": role,
        "region": "West Bengal",
        "languages": ["bn", "en"],
    })
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT has three parts");
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .expect("JWT parts are base64url");
    serde_json::from_slice(&bytes).expect("JWT parts are JSON")
}

/// The payload of a JWT, not verified.
pub(crate) fn claims(token: &str) -> Claims {
    serde_json::from_value(segment(token, 1)).expect("the payload is an ID token's")
}

/// The `kid` of a JWT's header.
pub(crate) fn kid(token: &str) -> String {
    segment(token, 0)["kid"]
        .as_str()
        .expect("the header names its kid")
        .to_owned()
}

/// The token with one character of its signature changed.
pub(crate) fn tamper(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').expect("a JWT has a signature");
    let mut chars: Vec<char> = signature.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    format!("{signed}.{}", chars.into_iter().collect::<String>())
}
