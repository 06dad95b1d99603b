//! A stand-in for Firebase Auth on a wiremock server: Identity Toolkit's
//! `accounts:signInWithPassword` and the Admin API's
//! `projects/{project}/accounts` (create) and `…/accounts:update|delete`, Secure Token's `token`,
//! the metadata server's access token and the JWKS of the key it signs ID
//! tokens with. It keeps accounts, passwords, custom claims, disabling and
//! `validSince`, and answers with Firebase's documented shapes and error
//! codes, so the auth service's client is tested end to end; the requests
//! it received stay on the server for tests to check the wire format.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::identity::{Claims, FirebaseClaims, JwkSet, Role, SigningKey};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The Web API key the stand-in accepts.
pub(crate) const API_KEY: &str = "AIza-test-web-api-key";
/// The project of the stand-in.
pub(crate) const PROJECT: &str = "craftchain-firebase-test";
/// The access token its metadata server hands out (the Admin API needs it).
pub(crate) const ACCESS_TOKEN: &str = "ya29.test-access-token";
/// Where it publishes the keys of its ID tokens.
pub(crate) const JWKS_PATH: &str = "/robot/v1/metadata/jwk/securetoken";

/// A running stand-in.
pub(crate) struct FakeFirebase {
    pub(crate) server: MockServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    accounts: BTreeMap<String, Account>,
    /// Refresh token → (uid, issued at).
    refresh_tokens: BTreeMap<String, (String, i64)>,
    next: u64,
    /// Answer 503 to everything but the metadata server and the keys.
    down: bool,
    /// Answer 500 to the Admin API's `accounts:update`.
    update_failing: bool,
}

struct Account {
    email: String,
    password: String,
    role: Option<Role>,
    disabled: bool,
    valid_since: i64,
}

#[derive(Clone)]
struct Responder {
    state: Arc<Mutex<State>>,
    key: Arc<SigningKey>,
}

impl FakeFirebase {
    pub(crate) async fn start() -> FakeFirebase {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        let responder = Responder {
            state: state.clone(),
            key: Arc::new(SigningKey::generate().expect("an RSA key")),
        };
        Mock::given(any())
            .respond_with(responder)
            .mount(&server)
            .await;
        FakeFirebase { server, state }
    }

    pub(crate) fn uri(&self) -> String {
        self.server.uri()
    }

    pub(crate) fn set_down(&self, down: bool) {
        self.state.lock().expect("not poisoned").down = down;
    }

    pub(crate) fn set_update_failing(&self, failing: bool) {
        self.state.lock().expect("not poisoned").update_failing = failing;
    }

    /// Set the account's role claim, as a console would.
    pub(crate) fn set_role(&self, uid: &str, role: Option<Role>) {
        let mut state = self.state.lock().expect("not poisoned");
        state.accounts.get_mut(uid).expect("an account").role = role;
    }

    /// Add a password account, as a console would.
    pub(crate) fn add_account(&self, email: &str, password: &str) {
        let mut state = self.state.lock().expect("not poisoned");
        if create(&mut state, email, password).is_err() {
            panic!("{email} cannot be added");
        }
    }

    /// The Firebase account of `email`: its uid, role claim and whether it
    /// is disabled.
    pub(crate) fn account(&self, email: &str) -> Option<(String, Option<Role>, bool)> {
        let state = self.state.lock().expect("not poisoned");
        state
            .accounts
            .iter()
            .find(|(_, a)| a.email == email)
            .map(|(uid, a)| (uid.clone(), a.role, a.disabled))
    }

    /// The requests received on `path`.
    pub(crate) async fn requests(&self, path: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == path)
            .collect()
    }
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"code": status, "message": message, "errors": [{"message": message, "domain": "global", "reason": "invalid"}]}
    }))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        match path.as_str() {
            "/computeMetadata/v1/instance/service-accounts/default/token" => {
                return ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}));
            }
            JWKS_PATH => {
                return ResponseTemplate::new(200)
                    .set_body_json(JwkSet::from_signing_keys([self.key.as_ref()]));
            }
            _ => {}
        }
        let mut state = self.state.lock().expect("not poisoned");
        if state.down {
            return error(503, "UNAVAILABLE");
        }
        if let Some(method) = path.strip_prefix(&format!("/v1/projects/{PROJECT}/")) {
            let bearer = format!("Bearer {ACCESS_TOKEN}");
            if request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                != Some(bearer.as_str())
            {
                return error(401, "CREDENTIAL_MISSING");
            }
            if state.update_failing && method == "accounts:update" {
                return error(500, "INTERNAL");
            }
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            return admin(&mut state, method, &body);
        }
        let key = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "key")
            .map(|(_, v)| v.into_owned());
        if key.as_deref() != Some(API_KEY) {
            return error(400, "API key not valid. Please pass a valid API key.");
        }
        match path.as_str() {
            "/v1/accounts:signInWithPassword" => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let (Some(email), Some(password)) =
                    (body["email"].as_str(), body["password"].as_str())
                else {
                    return error(400, "MISSING_EMAIL");
                };
                if body["returnSecureToken"] != json!(true) {
                    return error(400, "INVALID_REQ_TYPE");
                }
                let found = state
                    .accounts
                    .iter()
                    .find(|(_, a)| a.email == email && a.password == password);
                let uid = match found {
                    None => return error(400, "INVALID_LOGIN_CREDENTIALS"),
                    Some((_, a)) if a.disabled => {
                        return error(
                            400,
                            "USER_DISABLED : The user account has been disabled by an administrator.",
                        );
                    }
                    Some((uid, _)) => uid.clone(),
                };
                let (id_token, refresh_token) = self.session(&mut state, &uid);
                ResponseTemplate::new(200).set_body_json(json!({
                    "kind": "identitytoolkit#VerifyPasswordResponse",
                    "localId": uid, "email": email, "idToken": id_token,
                    "refreshToken": refresh_token, "expiresIn": "3600", "registered": true,
                }))
            }
            "/v1/token" => {
                let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect();
                let content_type = request
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if content_type != "application/x-www-form-urlencoded" {
                    return error(400, "INVALID_CONTENT_TYPE");
                }
                if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
                    return error(400, "INVALID_GRANT_TYPE");
                }
                let Some(refresh_token) = form.get("refresh_token") else {
                    return error(400, "MISSING_REFRESH_TOKEN");
                };
                let Some((uid, issued_at)) = state.refresh_tokens.get(refresh_token).cloned()
                else {
                    return error(400, "INVALID_REFRESH_TOKEN");
                };
                let Some(account) = state.accounts.get(&uid) else {
                    return error(400, "USER_NOT_FOUND");
                };
                if account.disabled {
                    return error(400, "USER_DISABLED");
                }
                if issued_at < account.valid_since {
                    return error(400, "TOKEN_EXPIRED");
                }
                let id_token = self.id_token(&state, &uid);
                ResponseTemplate::new(200).set_body_json(json!({
                    "expires_in": "3600", "token_type": "Bearer",
                    "refresh_token": refresh_token, "id_token": id_token,
                    "user_id": uid, "project_id": "123456789",
                }))
            }
            _ => error(404, "NOT_FOUND"),
        }
    }
}

impl Responder {
    fn session(&self, state: &mut State, uid: &str) -> (String, String) {
        state.next += 1;
        let refresh_token = format!("AMf-refresh-{}-{}", state.next, uid);
        state
            .refresh_tokens
            .insert(refresh_token.clone(), (uid.to_owned(), now()));
        (self.id_token(state, uid), refresh_token)
    }

    fn id_token(&self, state: &State, uid: &str) -> String {
        let account = &state.accounts[uid];
        let now = now();
        let claims = Claims {
            iss: format!("https://securetoken.google.com/{PROJECT}"),
            aud: PROJECT.to_owned(),
            sub: uid.to_owned(),
            iat: now,
            exp: now + 3600,
            auth_time: Some(now),
            user_id: Some(uid.to_owned()),
            email: Some(account.email.clone()),
            email_verified: Some(false),
            name: None,
            role: account.role,
            firebase: Some(FirebaseClaims {
                sign_in_provider: "password".to_owned(),
            }),
        };
        self.key.sign(&claims).expect("signing works")
    }
}

/// The Admin API: `accounts` (create), `accounts:update` and
/// `accounts:delete`.
fn admin(state: &mut State, method: &str, body: &Value) -> ResponseTemplate {
    if method == "accounts" {
        let (Some(email), Some(password)) = (body["email"].as_str(), body["password"].as_str())
        else {
            return error(400, "MISSING_EMAIL");
        };
        return match create(state, email, password) {
            Ok(uid) => ResponseTemplate::new(200).set_body_json(json!({
                "kind": "identitytoolkit#SignupNewUserResponse", "localId": uid, "email": email,
            })),
            Err(refusal) => error(400, refusal),
        };
    }
    let Some(uid) = body["localId"].as_str() else {
        return error(400, "MISSING_LOCAL_ID");
    };
    match method {
        "accounts:delete" => match state.accounts.remove(uid) {
            Some(_) => ResponseTemplate::new(200)
                .set_body_json(json!({"kind": "identitytoolkit#DeleteAccountResponse"})),
            None => error(400, "USER_NOT_FOUND"),
        },
        "accounts:update" => {
            let Some(account) = state.accounts.get_mut(uid) else {
                return error(400, "USER_NOT_FOUND");
            };
            if let Some(custom) = body.get("customAttributes") {
                // A JSON object, sent as a string.
                let Some(parsed) = custom
                    .as_str()
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                    .filter(Value::is_object)
                else {
                    return error(400, "INVALID_CLAIMS");
                };
                account.role = serde_json::from_value(parsed["role"].clone()).ok();
            }
            if let Some(disabled) = body.get("disableUser").and_then(Value::as_bool) {
                account.disabled = disabled;
            }
            if let Some(since) = body.get("validSince") {
                // An int64, sent as a string.
                let Some(since) = since.as_str().and_then(|s| s.parse().ok()) else {
                    return error(400, "INVALID_VALID_SINCE");
                };
                account.valid_since = since;
            }
            if let Some(password) = body.get("password").and_then(Value::as_str) {
                account.password = password.to_owned();
                account.valid_since = now();
            }
            ResponseTemplate::new(200).set_body_json(
                json!({"kind": "identitytoolkit#SetAccountInfoResponse", "localId": uid}),
            )
        }
        _ => error(404, "NOT_FOUND"),
    }
}

/// A new password account, or the message Firebase refuses it with.
fn create(state: &mut State, email: &str, password: &str) -> Result<String, &'static str> {
    if state.accounts.values().any(|a| a.email == email) {
        return Err("EMAIL_EXISTS");
    }
    if password.len() < 6 {
        return Err("WEAK_PASSWORD : Password should be at least 6 characters");
    }
    state.next += 1;
    let uid = format!("fbuid{:04}", state.next);
    state.accounts.insert(
        uid.clone(),
        Account {
            email: email.to_owned(),
            password: password.to_owned(),
            role: None,
            disabled: false,
            valid_since: 0,
        },
    );
    Ok(uid)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
