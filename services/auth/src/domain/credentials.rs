//! Credentials: normalised emails, the password policy, argon2id hashing
//! off the async runtime, and the per-account throttle that slows repeated
//! failed logins without letting anyone lock the service.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use common::error::Validator;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::Entity;

/// A syntactically valid, normalised (trimmed, lowercased) email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.len() > EMAIL_MAX_LEN {
            return Err("must be at most 254 characters");
        }
        let (local, domain) = email.rsplit_once('@').ok_or("must contain @")?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Email(email))
        } else {
            Err("is not a valid email address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the address's claim document: the address itself, with
    /// `/` (which a document id cannot hold) written as `∕` (U+2215, which
    /// no address can hold, being ASCII). Every other address is its own id.
    pub fn claim_id(&self) -> String {
        self.0.replace('/', "\u{2215}")
    }

    /// A stable key for per-address records that does not store the address.
    pub fn key(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// The longest address.
pub const EMAIL_MAX_LEN: usize = 254;

/// The shortest and longest password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;
/// The fewest different characters a password has.
pub const PASSWORD_MIN_DISTINCT: usize = 5;

/// Passwords every attacker tries first.
pub(crate) const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "iloveyou",
    "admin12345",
    "letmein123",
    "welcome123",
    "passw0rd",
    "abc1234567",
    "qwerty123",
];

/// Check a new password: 10–128 characters, not trivially guessable.
pub fn check_password(v: &mut Validator, field: &str, password: &str, email: Option<&Email>) {
    let n = password.chars().count();
    let lower = password.to_lowercase();
    let distinct = {
        let mut chars: Vec<char> = password.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        chars.len()
    };
    v.check(
        n >= PASSWORD_MIN_CHARS,
        field,
        "too_short",
        "must be at least 10 characters",
    );
    v.check(
        n <= PASSWORD_MAX_CHARS,
        field,
        "too_long",
        "must be at most 128 characters",
    );
    v.check(
        distinct >= PASSWORD_MIN_DISTINCT || n < PASSWORD_MIN_CHARS,
        field,
        "too_weak",
        "uses too few different characters",
    );
    v.check(
        !COMMON.contains(&lower.as_str()),
        field,
        "too_common",
        "is a commonly used password",
    );
    if let Some(email) = email {
        let local = email.as_str().split('@').next().unwrap_or_default();
        v.check(
            local.len() < 4 || !lower.contains(local),
            field,
            "too_weak",
            "must not contain your email name",
        );
    }
}

fn new_salt() -> anyhow::Result<SaltString> {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    SaltString::encode_b64(&bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))
}

/// Argon2id hashing, run on the blocking pool, at most one hash per core
/// at a time: each takes `argon2_memory_kib` and tens of milliseconds, so a
/// burst of logins queues here instead of filling the blocking pool (512
/// threads × 19 MiB) and the memory.
#[derive(Clone)]
pub struct PasswordHasherPool {
    argon: Arc<Argon2<'static>>,
    slots: Arc<tokio::sync::Semaphore>,
    /// A hash of a random password, verified against when the account does
    /// not exist so that both cases cost the same time.
    dummy: Arc<String>,
}

impl PasswordHasherPool {
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = new_salt()?;
        let dummy = argon
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Ok(Self {
            argon: Arc::new(argon),
            slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            dummy: Arc::new(dummy),
        })
    }

    async fn slot(&self) -> anyhow::Result<tokio::sync::OwnedSemaphorePermit> {
        Ok(self.slots.clone().acquire_owned().await?)
    }

    pub async fn hash(&self, password: SecretString) -> anyhow::Result<String> {
        let argon = self.argon.clone();
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let salt = new_salt()?;
            argon
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown account) it
    /// spends the same time and answers false.
    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<String>,
    ) -> anyhow::Result<bool> {
        let argon = self.argon.clone();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.as_ref().clone());
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let parsed =
                PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            Ok(known
                && argon
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok())
        })
        .await?
    }
}

/// How failed logins slow guessing down.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures (decayed) on a key before attempts on it are delayed.
    pub threshold: u32,
    /// A failure counts half after this long, a quarter after twice it…
    pub half_life: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Failures (decayed) on an account at which its owner is told.
    pub alert_at: u32,
}

/// A pair score at or above this means the client has failed on the
/// account recently (one failure within a half-life): such a client also
/// waits out the account's delay; a client that has not been failing does
/// not.
pub const FAILING: f64 = 0.5;

/// Failed logins counted against one key — an account (by
/// [`Email::key`]), or an (account, client address) pair — as a score that
/// halves every half-life, so nobody can hold a lock by failing once in a
/// while. An attempt is counted *before* the password is checked (and
/// given back when it was right), in one transaction with the check of the
/// delay, so parallel guesses cannot slip past it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoginThrottle {
    /// Failures, decayed to `at`.
    pub score: f64,
    pub at: Option<DateTime<Utc>>,
    /// No attempt is taken before this.
    pub not_before: Option<DateTime<Utc>>,
    /// When the owner was last told (account keys only).
    #[serde(default)]
    pub alerted_at: Option<DateTime<Utc>>,
}

impl Entity for LoginThrottle {
    const COLLECTION: &'static str = "login_throttle";
}

impl LoginThrottle {
    /// The account's key.
    pub fn account_key(email: &Email) -> String {
        format!("a.{}", email.key())
    }

    /// The (account, client address) pair's key: neither stored in clear.
    pub fn pair_key(email: &Email, client: std::net::IpAddr) -> String {
        let mut h = Sha256::new();
        h.update(email.key().as_bytes());
        h.update(client.to_string().as_bytes());
        format!("p.{}", hex::encode(h.finalize()))
    }

    /// The score now.
    pub fn score_at(&self, now: DateTime<Utc>, policy: &ThrottlePolicy) -> f64 {
        let Some(at) = self.at else { return 0.0 };
        let elapsed = (now - at).to_std().unwrap_or_default().as_secs_f64();
        let half_life = policy.half_life.as_secs_f64().max(1.0);
        self.score * 0.5f64.powf(elapsed / half_life)
    }

    /// How long the key must still wait, if it must.
    pub fn wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.not_before
            .filter(|until| *until > now)
            .and_then(|until| (until - now).to_std().ok())
    }

    /// Add `delta` failures (−1 gives a reserved attempt back). At or past
    /// `threshold` the next attempt waits 1 s, 2 s, 4 s … up to `max_delay`.
    pub fn add(&mut self, now: DateTime<Utc>, delta: f64, policy: &ThrottlePolicy) {
        self.score = (self.score_at(now, policy) + delta).max(0.0);
        self.at = Some(now);
        // Whole failures, rounded: failures a few seconds apart have
        // barely decayed and still count as one each.
        let over = self.score.round() - f64::from(policy.threshold);
        self.not_before = (over >= 0.0).then(|| {
            // `over` is at most the number of attempts, far below 2^20.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let exp = over.floor().min(20.0) as u32;
            let secs = (1u64 << exp).min(policy.max_delay.as_secs().max(1));
            now + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
        });
    }

    /// Whether this key's record can be forgotten.
    pub fn is_spent(&self, now: DateTime<Utc>, policy: &ThrottlePolicy) -> bool {
        self.score_at(now, policy) < 0.01 && self.wait(now).is_none()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Meera@Example.IN ").unwrap().as_str(),
            "meera@example.in"
        );
        for bad in [
            "",
            "no-at",
            "a@b",
            "@x.in",
            "a@.in",
            "a..b@x.in",
            "a@x.i",
            "a b@x.in",
            "a@-x.in",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_address_has_a_claim_id_of_its_own_without_a_slash() {
        let slashed = Email::parse("a/b@example.in").unwrap();
        assert_eq!(slashed.claim_id(), "a\u{2215}b@example.in");
        assert!(!slashed.claim_id().contains('/'));
        let plain = Email::parse("meera@example.in").unwrap();
        assert_eq!(plain.claim_id(), "meera@example.in");
    }

    #[test]
    fn weak_passwords_are_named() {
        let email = Email::parse("meera@example.in").unwrap();
        for bad in [
            "short",
            "aaaaaaaaaaaa",
            "password123",
            "meera-is-great-2026",
        ] {
            let mut v = Validator::new();
            check_password(&mut v, "password", bad, Some(&email));
            assert!(!v.is_empty(), "{bad} accepted");
        }
        let mut v = Validator::new();
        check_password(&mut v, "password", "kantha-stitch-9-blue", Some(&email));
        assert!(v.is_empty());
    }

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        threshold: 5,
        half_life: Duration::from_secs(600),
        max_delay: Duration::from_secs(900),
        alert_at: 20,
    };

    #[test]
    fn throttle_grows_and_caps() {
        let now = Utc::now();
        let mut t = LoginThrottle::default();
        for _ in 0..4 {
            t.add(now, 1.0, &POLICY);
        }
        assert!(t.wait(now).is_none());
        t.add(now, 1.0, &POLICY);
        assert_eq!(t.wait(now), Some(Duration::from_secs(1)));
        t.add(now, 1.0, &POLICY);
        assert_eq!(t.wait(now), Some(Duration::from_secs(2)));
        for _ in 0..30 {
            t.add(now, 1.0, &POLICY);
        }
        assert_eq!(t.wait(now), Some(Duration::from_secs(900)));
        // Giving an attempt back lowers the delay again.
        let mut g = LoginThrottle::default();
        for _ in 0..6 {
            g.add(now, 1.0, &POLICY);
        }
        g.add(now, -1.0, &POLICY);
        assert_eq!(g.wait(now), Some(Duration::from_secs(1)));
    }

    #[test]
    fn failures_decay_by_half_each_half_life() {
        let now = Utc::now();
        let mut t = LoginThrottle::default();
        for _ in 0..8 {
            t.add(now, 1.0, &POLICY);
        }
        let later = now + chrono::Duration::seconds(600);
        assert!((t.score_at(later, &POLICY) - 4.0).abs() < 1e-9);
        assert!(t.wait(later).is_none(), "an 8 s delay is long over");
        let much_later = now + chrono::Duration::hours(3);
        assert!(t.is_spent(much_later, &POLICY));
        // Two half-lives on, one more failure counts 3 of the 5.
        let two = now + chrono::Duration::seconds(1200);
        t.add(two, 1.0, &POLICY);
        assert!(t.wait(two).is_none());
    }

    #[test]
    fn pair_keys_differ_per_client_and_never_hold_the_address() {
        let email = Email::parse("meera@example.in").unwrap();
        let a = LoginThrottle::pair_key(&email, "203.0.113.7".parse().unwrap());
        let b = LoginThrottle::pair_key(&email, "203.0.113.8".parse().unwrap());
        assert_ne!(a, b);
        assert!(!a.contains("meera") && !a.contains("203"));
        assert_ne!(LoginThrottle::account_key(&email), a);
    }

    #[tokio::test]
    async fn hashing_round_trips_and_unknown_accounts_fail() {
        let pool = PasswordHasherPool::new(8 * 1024, 1).unwrap();
        let hash = pool
            .hash("kantha-stitch-9".to_owned().into())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            pool.verify("kantha-stitch-9".to_owned().into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify("wrong-password".to_owned().into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify("kantha-stitch-9".to_owned().into(), None)
                .await
                .unwrap()
        );
    }
}
