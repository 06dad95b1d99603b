//! The auth service under test, a [`TestService`] built from settings a
//! test may adjust, and its own fixtures: accounts signed up and in
//! through it, valid bodies, and the decoding of the tokens it issues.
//! The service is the token issuer itself, so the harness's fake tokens
//! are not used: every token comes from a sign-up or a login.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::identity::{Claims, JwkSet, Role};
use http::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::TestService;

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
    service: TestService,
}

impl Deref for TestApp {
    type Target = TestService;

    /// The harness: requests, the store and the outbox.
    fn deref(&self) -> &TestService {
        &self.service
    }
}

/// The settings a [`TestApp`] starts with.
pub(crate) struct TestAppBuilder {
    settings: auth::Settings,
    /// Where Firebase is: its project, and the base URL of a
    /// [`FakeFirebase`](crate::fake_firebase::FakeFirebase) that also
    /// serves the metadata server's access tokens and its keys (`None` for
    /// the emulator, whose tokens are unsigned).
    firebase: Option<(String, Option<String>)>,
}

impl TestApp {
    /// An app with default settings (cheap argon2, no admin, no services).
    pub(crate) async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    /// The same service stopped and started again, on the same data.
    pub(crate) async fn restart(self) -> TestApp {
        TestApp {
            service: self.service.restart().await,
        }
    }

    pub(crate) fn builder() -> TestAppBuilder {
        let settings = auth::Settings {
            argon2_memory_kib: 8 * 1024,
            argon2_iterations: 1,
            ..auth::Settings::default()
        };
        TestAppBuilder {
            settings,
            firebase: None,
        }
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
        let body = json!({ "email": email, "password": password });
        self.post_json("/auth/login", &body, None).await
    }

    pub(crate) async fn refresh(&self, refresh_token: &str) -> TestResponse {
        let body = json!({ "refresh_token": refresh_token });
        self.post_json("/auth/refresh", &body, None).await
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
}

impl TestAppBuilder {
    /// Create the bootstrap admin [`ADMIN_EMAIL`] / [`ADMIN_PASSWORD`].
    pub(crate) fn with_admin(mut self) -> Self {
        self.settings.bootstrap_admin_email = Some(ADMIN_EMAIL.to_owned());
        self.settings.bootstrap_admin_password = Some(SecretString::from(ADMIN_PASSWORD));
        self
    }

    /// Let `service` obtain service tokens with `secret`.
    pub(crate) fn with_service_secret(mut self, service: &str, secret: &str) -> Self {
        self.settings
            .service_secrets
            .insert(service.to_owned(), SecretString::from(secret));
        self
    }

    pub(crate) fn lockout_threshold(mut self, failures: u32) -> Self {
        self.settings.lockout_threshold = failures;
        self
    }

    pub(crate) fn lockout_half_life(mut self, secs: u64) -> Self {
        self.settings.lockout_half_life_secs = secs;
        self
    }

    pub(crate) fn attack_alert(mut self, failures: u32) -> Self {
        self.settings.attack_alert_failures = failures;
        self
    }

    /// Firebase Auth (the stand-in at `base`) holds passwords and
    /// sessions; every ID token is the stand-in's.
    pub(crate) fn with_firebase(mut self, base: &str) -> Self {
        use crate::fake_firebase::{API_KEY, PROJECT};
        self.settings.firebase = Some(auth::config::FirebaseSettings {
            api_key: SecretString::from(API_KEY),
            project_id: PROJECT.to_owned(),
            identity_toolkit_url: base.parse().expect("a URL"),
            secure_token_url: base.parse().expect("a URL"),
            emulator_host: None,
            timeout_secs: 5,
        });
        self.firebase = Some((PROJECT.to_owned(), Some(base.to_owned())));
        self
    }

    /// Firebase Auth is Google's emulator at `host` (project
    /// [`testkit::FirebaseAuthEmulator::PROJECT`]).
    pub(crate) fn with_firebase_emulator(mut self, host: &str) -> Self {
        let project = testkit::FirebaseAuthEmulator::PROJECT;
        self.settings.firebase = Some(auth::config::FirebaseSettings {
            api_key: SecretString::from("demo-api-key"),
            project_id: project.to_owned(),
            identity_toolkit_url: "http://127.0.0.1:9/".parse().expect("a URL"),
            secure_token_url: "http://127.0.0.1:9/".parse().expect("a URL"),
            emulator_host: Some(host.to_owned()),
            timeout_secs: 10,
        });
        self.firebase = Some((project.to_owned(), None));
        self
    }

    pub(crate) async fn spawn(self) -> TestApp {
        let settings = self.settings;
        let firebase = self.firebase;
        let service = TestService::builder(auth::NAME)
            // Its own key ring (or Firebase's keys) verifies its tokens:
            // the harness's authenticator is not needed.
            .start(move |mut shared, _fake_auth| {
                if let Some((project, fake)) = &firebase {
                    shared.identity.issuer = format!("https://securetoken.google.com/{project}");
                    shared.identity.audience = project.clone();
                    if let Some(base) = fake {
                        let base: url::Url = base.parse().expect("a URL");
                        let keys = base.join(crate::fake_firebase::JWKS_PATH).expect("a URL");
                        shared.identity.jwks_url = Some(keys);
                        shared.service_auth.metadata_url = base;
                    }
                }
                let config = auth::Config {
                    shared,
                    service: settings.clone(),
                };
                async move { auth::build(&config).await }
            })
            .await;
        TestApp { service }
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
