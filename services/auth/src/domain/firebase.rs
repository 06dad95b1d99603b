//! Firebase Auth as the holder of passwords and sessions (production's
//! identity path): sign-up, sign-in and refresh over the Identity Toolkit
//! and Secure Token REST APIs with the project's Web API key, and the
//! Admin API (`projects/{project}/accounts:update|delete`, authenticated as
//! the service account) for the role claim, disabling and revoking. The
//! auth service keeps the profiles and roles; Firebase signs the tokens.
//!
//! Requests follow the documented wire format:
//! - `POST {toolkit}/v1/accounts:signUp?key=…` and
//!   `…/accounts:signInWithPassword?key=…` with
//!   `{"email", "password", "returnSecureToken": true}`;
//! - `POST {securetoken}/v1/token?key=…` with the form
//!   `grant_type=refresh_token&refresh_token=…`;
//! - `POST {toolkit}/v1/projects/{project}/accounts:update` with `localId`
//!   and `customAttributes` (a JSON string), `disableUser` or `validSince`.
//!
//! Errors come back as `{"error": {"code", "message"}}`, the message a code
//! such as `EMAIL_EXISTS` or `WEAK_PASSWORD : Password should be …`.

use std::sync::Arc;
use std::time::Duration;

use common::identity::{Claims, Role};
use common::tokens::GoogleAccessTokens;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::config::FirebaseSettings;
use crate::domain::sessions::TokenPair;

/// What Firebase answered that the caller must act on.
#[derive(Debug, thiserror::Error)]
pub enum FirebaseError {
    /// Firebase refused the request with this code (`EMAIL_EXISTS`,
    /// `INVALID_LOGIN_CREDENTIALS`, `TOKEN_EXPIRED`…).
    #[error("firebase auth refused the request: {0}")]
    Refused(String),
    /// Firebase could not be reached, failed, or throttles this project:
    /// trying again later may work.
    #[error("firebase auth is unavailable: {0}")]
    Unavailable(String),
}

impl FirebaseError {
    /// The code Firebase refused with, if it refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            FirebaseError::Refused(code) => Some(code),
            FirebaseError::Unavailable(_) => None,
        }
    }
}

/// A Firebase session: the uid it belongs to and its tokens.
#[derive(Debug, Clone)]
pub struct FirebaseSession {
    pub uid: String,
    pub pair: TokenPair,
}

/// How the Admin API calls are authenticated.
enum AdminCredentials {
    /// The service account's access token (Cloud Run's metadata server).
    ServiceAccount(Arc<GoogleAccessTokens>),
    /// The Firebase Auth emulator takes `Bearer owner` as an admin.
    Emulator,
}

/// The client of one Firebase project's authentication.
#[derive(Clone)]
pub struct FirebaseAuth {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    api_key: SecretString,
    project: String,
    /// Identity Toolkit's base, ending in `/`.
    toolkit: Url,
    /// Secure Token's base, ending in `/`.
    securetoken: Url,
    admin: AdminCredentials,
}

/// Google's endpoints.
pub const IDENTITY_TOOLKIT_URL: &str = "https://identitytoolkit.googleapis.com/";
pub const SECURE_TOKEN_URL: &str = "https://securetoken.googleapis.com/";

impl FirebaseAuth {
    /// The client `settings` describe; Admin API tokens from the metadata
    /// server at `metadata` unless the emulator is used.
    pub fn new(settings: &FirebaseSettings, metadata: &Url) -> anyhow::Result<Self> {
        let (toolkit, securetoken, admin) = match &settings.emulator_host {
            Some(host) => (
                Url::parse(&format!("http://{host}/identitytoolkit.googleapis.com/"))?,
                Url::parse(&format!("http://{host}/securetoken.googleapis.com/"))?,
                AdminCredentials::Emulator,
            ),
            None => (
                with_slash(settings.identity_toolkit_url.clone()),
                with_slash(settings.secure_token_url.clone()),
                AdminCredentials::ServiceAccount(Arc::new(GoogleAccessTokens::new(metadata)?)),
            ),
        };
        let http = reqwest::Client::builder()
            .no_gzip()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(settings.timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                api_key: settings.api_key.clone(),
                project: settings.project_id.clone(),
                toolkit,
                securetoken,
                admin,
            }),
        })
    }

    /// Create the Firebase account `email` / `password` as the service
    /// account (the Admin API's `projects/{project}/accounts`): sign-ups
    /// all come from this service's address, which the public
    /// `accounts:signUp` would limit per hour. Answers its uid.
    pub async fn create_account(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<String, FirebaseError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            local_id: String,
        }
        let body = json!({ "email": email, "password": password.expose_secret() });
        let created: Created = self.admin_call("accounts", body).await?;
        Ok(created.local_id)
    }

    /// Sign in to the Firebase account `email` / `password`.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<FirebaseSession, FirebaseError> {
        self.password_call("v1/accounts:signInWithPassword", email, password)
            .await
    }

    /// Exchange a refresh token for a fresh ID token (carrying the custom
    /// claims as they are now).
    pub async fn refresh(&self, refresh_token: &str) -> Result<FirebaseSession, FirebaseError> {
        let url = self.keyed(&self.inner.securetoken, "v1/token")?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh_token)
            .finish();
        let request = self
            .inner
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        let answer: RefreshAnswer = send(request).await?;
        Ok(FirebaseSession {
            uid: answer.user_id,
            pair: TokenPair {
                id_token: answer.id_token,
                refresh_token: answer.refresh_token,
                expires_in: seconds(&answer.expires_in),
            },
        })
    }

    /// `session` with an ID token that carries `role`: when its claim
    /// differs (a role change whose local half failed after Firebase's),
    /// the claim is set again and the session refreshed once.
    pub async fn with_role(
        &self,
        session: FirebaseSession,
        role: Role,
    ) -> Result<FirebaseSession, FirebaseError> {
        if claims_of(&session.pair.id_token).is_some_and(|c| c.role == Some(role)) {
            return Ok(session);
        }
        self.set_role(&session.uid, role).await?;
        let refreshed = self.refresh(&session.pair.refresh_token).await?;
        if claims_of(&refreshed.pair.id_token).is_some_and(|c| c.role == Some(role)) {
            Ok(refreshed)
        } else {
            Err(FirebaseError::Unavailable(
                "the role claim is not in the refreshed token yet".to_owned(),
            ))
        }
    }

    /// Set the account's `role` custom claim (in every ID token minted
    /// from now on).
    pub async fn set_role(&self, uid: &str, role: Role) -> Result<(), FirebaseError> {
        let claims = json!({ "role": role }).to_string();
        self.update(json!({ "localId": uid, "customAttributes": claims }))
            .await
    }

    /// Disable (or enable again) the account: a disabled one can neither
    /// sign in nor refresh.
    pub async fn set_disabled(&self, uid: &str, disabled: bool) -> Result<(), FirebaseError> {
        self.update(json!({ "localId": uid, "disableUser": disabled }))
            .await
    }

    /// Revoke every refresh token of the account issued before now.
    pub async fn revoke_sessions(&self, uid: &str) -> Result<(), FirebaseError> {
        let now = common::time::now().timestamp().to_string();
        self.update(json!({ "localId": uid, "validSince": now }))
            .await
    }

    /// Set a new password (Firebase ends the account's sessions).
    pub async fn set_password(
        &self,
        uid: &str,
        password: &SecretString,
    ) -> Result<(), FirebaseError> {
        self.update(json!({ "localId": uid, "password": password.expose_secret() }))
            .await
    }

    /// Delete the account (undoing a sign-up whose profile could not be
    /// stored).
    pub async fn delete(&self, uid: &str) -> Result<(), FirebaseError> {
        let _: serde_json::Value = self
            .admin_call("accounts:delete", json!({ "localId": uid }))
            .await?;
        Ok(())
    }

    async fn password_call(
        &self,
        method: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<FirebaseSession, FirebaseError> {
        let url = self.keyed(&self.inner.toolkit, method)?;
        let body = json!({
            "email": email,
            "password": password.expose_secret(),
            "returnSecureToken": true,
        });
        let answer: PasswordAnswer = send(self.inner.http.post(url).json(&body)).await?;
        Ok(FirebaseSession {
            uid: answer.local_id,
            pair: TokenPair {
                id_token: answer.id_token,
                refresh_token: answer.refresh_token,
                expires_in: seconds(&answer.expires_in),
            },
        })
    }

    async fn update(&self, body: serde_json::Value) -> Result<(), FirebaseError> {
        let _: serde_json::Value = self.admin_call("accounts:update", body).await?;
        Ok(())
    }

    async fn admin_call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        body: serde_json::Value,
    ) -> Result<T, FirebaseError> {
        let url = self
            .inner
            .toolkit
            .join(&format!("v1/projects/{}/{method}", self.inner.project))
            .map_err(|e| FirebaseError::Unavailable(e.to_string()))?;
        let token = match &self.inner.admin {
            AdminCredentials::Emulator => "owner".to_owned(),
            AdminCredentials::ServiceAccount(tokens) => tokens
                .access_token()
                .await
                .map_err(|e| FirebaseError::Unavailable(format!("no access token: {e}")))?,
        };
        let request = self.inner.http.post(url).bearer_auth(token).json(&body);
        send(request).await
    }

    /// `base` + `path` with the API key as `key`.
    fn keyed(&self, base: &Url, path: &str) -> Result<Url, FirebaseError> {
        let mut url = base
            .join(path)
            .map_err(|e| FirebaseError::Unavailable(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("key", self.inner.api_key.expose_secret());
        Ok(url)
    }
}

fn with_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// The claims of an ID token Firebase just answered (over TLS, to this
/// service), read without verifying its signature: what this service
/// checks of it before handing it on. Every service verifies it anyway.
pub fn claims_of(id_token: &str) -> Option<Claims> {
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `expiresIn` is a decimal string of seconds.
fn seconds(raw: &str) -> u64 {
    raw.parse().unwrap_or(3600)
}

/// Longest answer read from Firebase.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Send `request` and read its JSON answer, or the refusal's code.
async fn send<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<T, FirebaseError> {
    let response = request
        .send()
        .await
        .map_err(|e| FirebaseError::Unavailable(e.without_url().to_string()))?;
    let status = response.status();
    let body = common::client::read_limited(response, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| FirebaseError::Unavailable(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| FirebaseError::Unavailable(format!("unreadable answer: {e}")));
    }
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(FirebaseError::Unavailable(format!("answered {status}")));
    }
    Err(FirebaseError::Refused(
        refusal_code(&body).unwrap_or_else(|| format!("HTTP_{}", status.as_u16())),
    ))
}

/// The code of an error answer: the message up to ` : ` (`WEAK_PASSWORD :
/// Password should be at least 6 characters`).
fn refusal_code(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Answer {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: String,
    }
    let answer: Answer = serde_json::from_slice(body).ok()?;
    let code = answer.error.message.split(" : ").next()?.trim();
    (!code.is_empty()).then(|| code.to_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordAnswer {
    local_id: String,
    id_token: String,
    refresh_token: String,
    expires_in: String,
}

#[derive(Deserialize)]
struct RefreshAnswer {
    user_id: String,
    id_token: String,
    refresh_token: String,
    expires_in: String,
}

#[cfg(test)]
mod tests {
    use super::refusal_code;

    #[test]
    fn a_refusal_reads_as_its_code() {
        let body = br#"{"error":{"code":400,"message":"WEAK_PASSWORD : Password should be at least 6 characters","errors":[]}}"#;
        assert_eq!(refusal_code(body).as_deref(), Some("WEAK_PASSWORD"));
        let body = br#"{"error":{"code":400,"message":"EMAIL_EXISTS"}}"#;
        assert_eq!(refusal_code(body).as_deref(), Some("EMAIL_EXISTS"));
        assert_eq!(refusal_code(b"<html>"), None);
    }
}
