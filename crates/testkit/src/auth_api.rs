//! Signing users up and in: the narrow `AuthApi` a test (or a service)
//! needs, over HTTP against the real auth service, or faked in-process with
//! a local signing key for unit tests that need valid tokens without it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::client::{CallOptions, ClientError, ServiceClient};
use common::identity::{
    Authenticator, Claims, FirebaseClaims, JwkSet, Role, SigningKey, StaticKeys, Verifier,
    VerifierConfig,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

/// A token pair (and, after sign-up, the new account's id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    #[serde(default)]
    pub user: Option<SessionUser>,
}

/// The account a sign-up created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: String,
    pub role: Role,
}

/// A user signed up for a test, with its credentials and tokens.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub uid: String,
    pub email: String,
    pub password: String,
    pub id_token: String,
    pub refresh_token: String,
}

impl TestUser {
    /// `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.id_token)
    }
}

/// What tests and callers need of the auth service.
#[async_trait]
pub trait AuthApi: Send + Sync {
    async fn signup(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
        role: &str,
    ) -> Result<Session, ClientError>;
    async fn login(&self, email: &str, password: &str) -> Result<Session, ClientError>;
    async fn refresh(&self, refresh_token: &str) -> Result<Session, ClientError>;

    /// A fresh user with a unique email.
    async fn new_user(&self, role: &str) -> anyhow::Result<TestUser> {
        let email = format!("{role}-{}@example.in", uuid::Uuid::new_v4().simple());
        let password = "handloom-weave-2026".to_owned();
        let session = self.signup(&email, &password, "Test User", role).await?;
        let uid = session
            .user
            .map(|u| u.id)
            .ok_or_else(|| anyhow::anyhow!("signup answered no user"))?;
        Ok(TestUser {
            uid,
            email,
            password,
            id_token: session.id_token,
            refresh_token: session.refresh_token,
        })
    }
}

/// The real auth service over HTTP.
#[derive(Debug, Clone)]
pub struct HttpAuthApi {
    client: ServiceClient,
}

impl HttpAuthApi {
    pub fn new(base: Url) -> Self {
        Self {
            client: ServiceClient::new("auth", base, None),
        }
    }

    pub fn client(&self) -> &ServiceClient {
        &self.client
    }

    /// Whether `/ready` answers 200.
    pub async fn ready(&self) -> bool {
        self.client
            .get_json::<serde_json::Value>("/ready")
            .await
            .is_ok()
    }

    /// The published keys.
    pub async fn jwks(&self) -> Result<JwkSet, ClientError> {
        self.client.get_json("/auth/.well-known/jwks.json").await
    }
}

#[async_trait]
impl AuthApi for HttpAuthApi {
    async fn signup(
        &self,
        email: &str,
        password: &str,
        display_name: &str,
        role: &str,
    ) -> Result<Session, ClientError> {
        let body = json!({"email": email, "password": password, "display_name": display_name, "role": role});
        self.client
            .post_json("/auth/signup", &body, &CallOptions::default())
            .await
    }

    async fn login(&self, email: &str, password: &str) -> Result<Session, ClientError> {
        let body = json!({"email": email, "password": password});
        self.client
            .post_json("/auth/login", &body, &CallOptions::default())
            .await
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Session, ClientError> {
        let body = json!({"refresh_token": refresh_token});
        self.client
            .post_json("/auth/refresh", &body, &CallOptions::default())
            .await
    }
}

/// Claims of a local ID token for `uid` with `role`, valid for an hour
/// (the shape the auth service issues; tests change fields to forge).
pub fn claims(uid: &str, role: Role) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: format!(
            "https://securetoken.google.com/{}",
            common::config::LOCAL_PROJECT
        ),
        aud: common::config::LOCAL_PROJECT.to_owned(),
        sub: uid.to_owned(),
        iat: now,
        exp: now + 3600,
        auth_time: Some(now),
        user_id: Some(uid.to_owned()),
        email: Some(format!("{uid}@example.in")),
        email_verified: Some(false),
        name: None,
        role: Some(role),
        firebase: Some(FirebaseClaims {
            sign_in_provider: "password".to_owned(),
        }),
    }
}

/// An in-process stand-in for the auth service: mints real RS256 tokens
/// with its own key, and gives the matching `Authenticator`.
pub struct FakeAuthApi {
    key: SigningKey,
    issuer: String,
    audience: String,
    accounts: Mutex<HashMap<String, (String, String, Role)>>,
}

impl FakeAuthApi {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            key: SigningKey::generate()?,
            issuer: format!(
                "https://securetoken.google.com/{}",
                common::config::LOCAL_PROJECT
            ),
            audience: common::config::LOCAL_PROJECT.to_owned(),
            accounts: Mutex::new(HashMap::new()),
        })
    }

    /// A token for `uid` with `role`.
    pub fn token(&self, uid: &str, role: Role) -> String {
        self.key.sign(&claims(uid, role)).unwrap_or_default()
    }

    /// The JWKS document of this fake's key (to serve to another process).
    pub fn jwks(&self) -> JwkSet {
        JwkSet::from_signing_keys([&self.key])
    }

    /// An authenticator that trusts this fake's tokens.
    pub fn authenticator(&self) -> Arc<Authenticator> {
        let keys = StaticKeys::from_jwk_set(&JwkSet::from_signing_keys([&self.key]));
        Arc::new(Authenticator::new(Verifier::new(
            VerifierConfig::new(self.issuer.clone(), self.audience.clone()),
            Arc::new(keys),
        )))
    }

    fn session(&self, uid: &str, role: Role) -> Session {
        Session {
            id_token: self.token(uid, role),
            refresh_token: format!("fake-refresh-{uid}"),
            expires_in: 3600,
            user: Some(SessionUser {
                id: uid.to_owned(),
                role,
            }),
        }
    }
}

fn refused(status: u16, code: &str) -> ClientError {
    ClientError::Problem {
        service: "auth",
        status: http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST),
        problem: Box::new(common::Problem {
            type_uri: format!("urn:craftchain:problem:{code}"),
            title: code.to_owned(),
            status,
            detail: None,
            code: code.to_owned(),
            request_id: None,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        }),
    }
}

#[async_trait]
impl AuthApi for FakeAuthApi {
    async fn signup(
        &self,
        email: &str,
        password: &str,
        _name: &str,
        role: &str,
    ) -> Result<Session, ClientError> {
        let role: Role = role
            .parse()
            .map_err(|_| refused(422, "validation_failed"))?;
        let uid = uuid::Uuid::new_v4().simple().to_string();
        let mut accounts = self.accounts.lock().map_err(|_| refused(500, "internal"))?;
        if accounts.contains_key(email) {
            return Err(refused(409, "email_taken"));
        }
        accounts.insert(email.to_owned(), (uid.clone(), password.to_owned(), role));
        Ok(self.session(&uid, role))
    }

    async fn login(&self, email: &str, password: &str) -> Result<Session, ClientError> {
        let accounts = self.accounts.lock().map_err(|_| refused(500, "internal"))?;
        match accounts.get(email) {
            Some((uid, pw, role)) if pw == password => Ok(self.session(uid, *role)),
            _ => Err(refused(401, "invalid_credentials")),
        }
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Session, ClientError> {
        let uid = refresh_token
            .strip_prefix("fake-refresh-")
            .ok_or_else(|| refused(401, "invalid_refresh_token"))?;
        let accounts = self.accounts.lock().map_err(|_| refused(500, "internal"))?;
        let role = accounts
            .values()
            .find(|(u, _, _)| u == uid)
            .map(|(_, _, r)| *r)
            .ok_or_else(|| refused(401, "invalid_refresh_token"))?;
        Ok(self.session(uid, role))
    }
}
