//! The auth service's own settings (`CRAFTCHAIN_AUTH_*`).

use std::collections::BTreeMap;

use common::ServiceSettings;
use common::config::SharedConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Settings of the auth service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Lifetime of an ID token, seconds (Firebase: one hour).
    pub id_token_ttl_secs: u64,
    /// Lifetime of a refresh token family, days.
    pub refresh_ttl_days: u64,
    /// Lifetime of a `service`-role token, seconds.
    pub service_token_ttl_secs: u64,
    /// Secret of each service allowed to obtain a `service`-role token.
    pub service_secrets: BTreeMap<String, SecretString>,
    /// An admin account created at start if it does not exist.
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<SecretString>,
    /// Failed logins (decayed) on an account, or on an (account, client
    /// address) pair, before attempts on it are delayed (1 s, 2 s, 4 s …).
    pub lockout_threshold: u32,
    /// Longest delay after repeated failures, seconds.
    pub max_lockout_secs: u64,
    /// A failed login counts half after this many seconds, a quarter after
    /// twice as long… (15 minutes).
    pub lockout_half_life_secs: u64,
    /// Failed logins (decayed) on an account at which its owner is told
    /// (`user.login_attacked`, at most hourly).
    pub attack_alert_failures: u32,
    /// Take the client address from `X-CraftChain-Client-Address` (the
    /// gateway sets it and drops what a client sent): right when only the
    /// gateway can reach this service, as under `craftchain up` and on
    /// Cloud Run's internal ingress.
    pub trust_client_address_header: bool,
    /// Argon2id memory cost in KiB (OWASP: 19 MiB).
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_iterations: u32,
    /// Firebase Auth holds passwords and sessions instead of this service
    /// (production's identity path); unset, this service does.
    pub firebase: Option<FirebaseSettings>,
}

/// Firebase Auth as the identity provider (`CRAFTCHAIN_AUTH_FIREBASE__*`).
/// Sign-up, login and refresh go to Firebase; this service keeps profiles
/// and roles, and sets each account's `role` custom claim through the
/// Admin API as the service account. Every service's
/// `CRAFTCHAIN_IDENTITY__ISSUER` must then be
/// `https://securetoken.google.com/<project_id>`, its `…__AUDIENCE` the
/// project id, and `…__X509_URL` Google's certificate map.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirebaseSettings {
    /// The project's Web API key (it names the project; it is not a
    /// secret in the browser, but is kept out of logs here).
    pub api_key: SecretString,
    /// The Firebase (Google Cloud) project id.
    pub project_id: String,
    /// Identity Toolkit's base URL.
    #[serde(default = "identity_toolkit_url")]
    pub identity_toolkit_url: url::Url,
    /// Secure Token's base URL.
    #[serde(default = "secure_token_url")]
    pub secure_token_url: url::Url,
    /// `host:port` of the Firebase Auth emulator (what
    /// `FIREBASE_AUTH_EMULATOR_HOST` holds): both APIs go there, and the
    /// Admin API is called as its `owner`.
    #[serde(default)]
    pub emulator_host: Option<String>,
    /// Timeout of each call to Firebase, seconds.
    #[serde(default = "firebase_timeout_secs")]
    pub timeout_secs: u64,
}

fn identity_toolkit_url() -> url::Url {
    url_or_local(crate::domain::firebase::IDENTITY_TOOLKIT_URL)
}

fn secure_token_url() -> url::Url {
    url_or_local(crate::domain::firebase::SECURE_TOKEN_URL)
}

/// A constant URL that parses; the fallback is never taken.
fn url_or_local(url: &str) -> url::Url {
    url::Url::parse(url).unwrap_or_else(|_| common::config::local_url(80))
}

fn firebase_timeout_secs() -> u64 {
    10
}

impl FirebaseSettings {
    fn problems(&self, shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if self.api_key.expose_secret().trim().is_empty() {
            p.push("firebase.api_key must be set".to_owned());
        }
        if self.project_id.trim().is_empty() {
            p.push("firebase.project_id must be set".to_owned());
        }
        if !(1..=60).contains(&self.timeout_secs) {
            p.push("firebase.timeout_secs must be between 1 and 60".to_owned());
        }
        let issuer = format!("https://securetoken.google.com/{}", self.project_id);
        if shared.identity.issuer != issuer || shared.identity.audience != self.project_id {
            p.push(format!(
                "with firebase, identity.issuer must be {issuer} and identity.audience {} \
                 (the tokens Firebase signs say so)",
                self.project_id
            ));
        }
        if self.emulator_host.is_some()
            && shared.environment == common::config::Environment::Production
        {
            p.push("firebase.emulator_host is not for production".to_owned());
        }
        p
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            id_token_ttl_secs: 3600,
            refresh_ttl_days: 30,
            service_token_ttl_secs: 600,
            service_secrets: BTreeMap::new(),
            bootstrap_admin_email: None,
            bootstrap_admin_password: None,
            lockout_threshold: 5,
            max_lockout_secs: 15 * 60,
            lockout_half_life_secs: 15 * 60,
            attack_alert_failures: 20,
            trust_client_address_header: true,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            firebase: None,
        }
    }
}

impl ServiceSettings for Settings {
    fn problems(&self, shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(firebase) = &self.firebase {
            p.extend(firebase.problems(shared));
        }
        if !(60..=86_400).contains(&self.id_token_ttl_secs) {
            p.push("id_token_ttl_secs must be between 60 and 86400".to_owned());
        }
        if self.refresh_ttl_days == 0 {
            p.push("refresh_ttl_days must be positive".to_owned());
        }
        if self.bootstrap_admin_email.is_some() != self.bootstrap_admin_password.is_some() {
            p.push("bootstrap_admin_email and bootstrap_admin_password go together".to_owned());
        }
        for (name, secret) in &self.service_secrets {
            if secret.expose_secret().len() < 16 {
                p.push(format!(
                    "service_secrets.{name} must be at least 16 characters"
                ));
            }
        }
        if self.lockout_threshold == 0 {
            p.push("lockout_threshold must be positive".to_owned());
        }
        if self.lockout_half_life_secs == 0 {
            p.push("lockout_half_life_secs must be positive".to_owned());
        }
        if self.attack_alert_failures <= self.lockout_threshold {
            p.push("attack_alert_failures must be above lockout_threshold".to_owned());
        }
        if self.argon2_memory_kib < 8 * 1024 || self.argon2_iterations == 0 {
            p.push("argon2 costs are below the safe minimum (8 MiB, 1 pass)".to_owned());
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firebase(project: &str) -> FirebaseSettings {
        FirebaseSettings {
            api_key: SecretString::from("AIza-key"),
            project_id: project.to_owned(),
            identity_toolkit_url: identity_toolkit_url(),
            secure_token_url: secure_token_url(),
            emulator_host: None,
            timeout_secs: 10,
        }
    }

    #[test]
    fn firebase_needs_the_identity_settings_its_tokens_carry() {
        let mut shared = SharedConfig::default();
        let settings = Settings {
            firebase: Some(firebase("craftchain-prod")),
            ..Settings::default()
        };
        let problems = settings.problems(&shared);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("https://securetoken.google.com/craftchain-prod"));

        shared.identity.issuer = "https://securetoken.google.com/craftchain-prod".to_owned();
        shared.identity.audience = "craftchain-prod".to_owned();
        assert_eq!(settings.problems(&shared), Vec::<String>::new());

        let mut emulated = firebase("craftchain-prod");
        emulated.emulator_host = Some("127.0.0.1:9099".to_owned());
        emulated.timeout_secs = 0;
        shared.environment = common::config::Environment::Production;
        let problems = emulated.problems(&shared);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
