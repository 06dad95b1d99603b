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
        }
    }
}

impl ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
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
