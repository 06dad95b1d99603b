//! Rate limits (GCRA, governor): one quota for sign-up/login/refresh keyed
//! by client IP, one for writes and one for reads keyed by user id when
//! authenticated, IP otherwise. Answers carry `RateLimit-Policy` and
//! `RateLimit` (the IETF httpapi draft); a refusal is 429 with
//! `Retry-After`. Keys whose state has fully replenished are evicted, so
//! memory stays bounded.

use std::io::Write as _;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota as GQuota, RateLimiter};
use http::HeaderValue;

use crate::config::{Quota, Settings};
use crate::routing::Class;

type Keyed = RateLimiter<
    Arc<str>,
    DefaultKeyedStateStore<Arc<str>>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One quota and its per-key state.
pub struct Limiter {
    name: &'static str,
    quota: Quota,
    limiter: Keyed,
    clock: DefaultClock,
    policy: HeaderValue,
}

/// The outcome of a check, with the headers to send either way.
#[derive(Debug)]
pub struct Verdict {
    pub allowed: bool,
    pub retry_after: Duration,
    pub policy: HeaderValue,
    pub state: HeaderValue,
}

impl Limiter {
    fn new(name: &'static str, quota: Quota) -> Self {
        let one = NonZeroU32::MIN;
        let period = Duration::from_secs(u64::from(quota.per_secs)) / quota.requests.max(1);
        let g = GQuota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| GQuota::per_second(one))
            .allow_burst(NonZeroU32::new(quota.burst).unwrap_or(one));
        let policy = HeaderValue::from_str(&format!(
            "\"{name}\";q={};w={}",
            quota.requests, quota.per_secs
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("\"default\""));
        Self {
            name,
            quota,
            limiter: RateLimiter::dashmap(g).with_middleware::<StateInformationMiddleware>(),
            clock: DefaultClock::default(),
            policy,
        }
    }

    /// Count one request of `key` (shared: the map copies it only when the
    /// key is new).
    pub fn check(&self, key: &Arc<str>) -> Verdict {
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let per_request = Duration::from_secs(u64::from(self.quota.per_secs))
                    / self.quota.requests.max(1);
                let refill = per_request * self.quota.burst.saturating_sub(remaining);
                Verdict {
                    allowed: true,
                    retry_after: Duration::ZERO,
                    policy: self.policy.clone(),
                    state: self.state(remaining, refill),
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Verdict {
                    allowed: false,
                    retry_after: wait,
                    policy: self.policy.clone(),
                    state: self.state(0, wait),
                }
            }
        }
    }

    fn state(&self, remaining: u32, reset: Duration) -> HeaderValue {
        let t = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
        // Written on the stack: one allocation (the header's) per request.
        let mut buf = [0u8; 96];
        let mut out = std::io::Cursor::new(&mut buf[..]);
        let written = write!(out, "\"{}\";r={remaining};t={t}", self.name).is_ok();
        let len = usize::try_from(out.position()).unwrap_or(0);
        written
            .then(|| HeaderValue::from_bytes(&buf[..len]).ok())
            .flatten()
            .unwrap_or_else(|| HeaderValue::from_static("\"default\""))
    }

    /// Forget keys that are back to a full bucket.
    fn evict(&self, max_keys: usize) {
        if self.limiter.len() > max_keys / 2 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }

    /// Keys remembered.
    pub fn keys(&self) -> usize {
        self.limiter.len()
    }
}

/// The three quotas.
pub struct Limits {
    auth: Limiter,
    write: Limiter,
    read: Limiter,
    max_keys: usize,
    /// Requests seen, to count keys only now and then.
    checks: std::sync::atomic::AtomicU64,
}

impl Limits {
    pub fn new(settings: &Settings) -> Self {
        Self {
            auth: Limiter::new("auth", settings.auth_quota),
            write: Limiter::new("write", settings.write_quota),
            read: Limiter::new("read", settings.read_quota),
            max_keys: settings.max_rate_keys,
            checks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn for_class(&self, class: Class) -> &Limiter {
        match class {
            Class::Auth => &self.auth,
            Class::Write => &self.write,
            Class::Read => &self.read,
        }
    }

    /// Evict stale keys; run periodically, and at once when a quota holds
    /// more keys than allowed.
    pub fn evict(&self) {
        for l in [&self.auth, &self.write, &self.read] {
            l.evict(self.max_keys);
        }
    }

    pub fn over_capacity(&self) -> bool {
        [&self.auth, &self.write, &self.read]
            .iter()
            .any(|l| l.keys() > self.max_keys)
    }

    /// [`Limits::over_capacity`], asked once every 256 calls: counting keys
    /// locks every shard of every map, too dear for each request, and 256
    /// new keys between two counts keep memory bounded all the same.
    pub fn over_capacity_sampled(&self) -> bool {
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .is_multiple_of(256)
            && self.over_capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let l = Limiter::new(
            "read",
            Quota {
                requests: 2,
                per_secs: 1,
                burst: 3,
            },
        );
        for _ in 0..3 {
            assert!(l.check(&Arc::from("k")).allowed);
        }
        let v = l.check(&Arc::from("k"));
        assert!(!v.allowed);
        assert!(v.retry_after > Duration::ZERO && v.retry_after <= Duration::from_millis(500));
        assert_eq!(v.policy, "\"read\";q=2;w=1");
        assert!(l.check(&Arc::from("other")).allowed, "keys are independent");
    }

    #[test]
    fn replenished_keys_are_evicted() {
        let l = Limiter::new(
            "read",
            Quota {
                requests: 1000,
                per_secs: 1,
                burst: 1,
            },
        );
        for i in 0..100 {
            assert!(l.check(&Arc::from(format!("ip{i}"))).allowed);
        }
        assert_eq!(l.keys(), 100);
        std::thread::sleep(Duration::from_millis(5));
        l.evict(10);
        assert_eq!(l.keys(), 0);
    }
}
