//! The verifier's key cache: keys by kid, refetched when they expire or an
//! unknown kid shows up, one fetch at a time and at most one per interval.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use tokio::sync::Mutex;

use super::error::VerifyError;
use super::source::{KeyFetchError, KeySource};

/// How long keys stay fresh and how often the source may be asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CachePolicy {
    pub(crate) min_refetch_interval: Duration,
    pub(crate) min_cache: Duration,
    pub(crate) max_cache: Duration,
    pub(crate) max_stale: Duration,
}

impl CachePolicy {
    /// The source's max-age clamped to `[min_cache, max_cache]`.
    fn freshness(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.min_cache)
            .max(self.min_cache)
            .min(self.max_cache)
    }
}

#[derive(Clone, Default)]
struct State {
    keys: Arc<HashMap<String, DecodingKey>>,
    /// `None` until the first successful fetch.
    fresh_until: Option<Instant>,
    last_attempt: Option<Instant>,
    last_error: Option<KeyFetchError>,
    /// Counts fetch attempts, so a caller that waited can tell one happened.
    generation: u64,
}

impl State {
    fn is_fresh(&self, now: Instant) -> bool {
        self.fresh_until.is_some_and(|until| now < until)
    }

    fn is_usable(&self, now: Instant, max_stale: Duration) -> bool {
        self.fresh_until
            .and_then(|until| until.checked_add(max_stale))
            .is_some_and(|until| now < until)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Wait for a fetch already under way and use its result.
    Yes,
    /// Someone else is fetching: don't wait, the stale keys will do.
    No,
}

pub(crate) struct KeyCache {
    source: Arc<dyn KeySource>,
    policy: CachePolicy,
    state: RwLock<State>,
    fetch_lock: Mutex<()>,
}

impl KeyCache {
    pub(crate) fn new(source: Arc<dyn KeySource>, policy: CachePolicy) -> Self {
        KeyCache {
            source,
            policy,
            state: RwLock::new(State::default()),
            fetch_lock: Mutex::new(()),
        }
    }

    pub(crate) fn describe(&self) -> String {
        self.source.describe()
    }

    fn snapshot(&self) -> State {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key for `kid`, fetching keys first when needed.
    pub(crate) async fn key(&self, kid: &str) -> Result<DecodingKey, VerifyError> {
        let seen = self.snapshot();
        let now = Instant::now();
        if seen.is_fresh(now) {
            if let Some(key) = seen.keys.get(kid) {
                return Ok(key.clone());
            }
            // Unknown kid: maybe the keys were rotated. Rate-limited.
            self.refetch(seen.generation, Wait::Yes).await;
        } else if seen.is_usable(now, self.policy.max_stale) && seen.keys.contains_key(kid) {
            self.refetch(seen.generation, Wait::No).await;
        } else {
            self.refetch(seen.generation, Wait::Yes).await;
        }
        let current = self.snapshot();
        if !current.is_usable(Instant::now(), self.policy.max_stale) {
            return Err(VerifyError::KeysUnavailable(self.unavailable(&current)));
        }
        current
            .keys
            .get(kid)
            .cloned()
            .ok_or(VerifyError::UnknownKid)
    }

    /// Fetches now (unless a fetch ran within the refetch interval).
    pub(crate) async fn warm(&self) -> Result<(), VerifyError> {
        let seen = self.snapshot();
        self.refetch(seen.generation, Wait::Yes).await;
        let current = self.snapshot();
        if current.is_usable(Instant::now(), self.policy.max_stale) {
            Ok(())
        } else {
            Err(VerifyError::KeysUnavailable(self.unavailable(&current)))
        }
    }

    fn unavailable(&self, state: &State) -> KeyFetchError {
        state
            .last_error
            .clone()
            .unwrap_or_else(|| KeyFetchError::NoKeys {
                source_name: self.source.describe(),
            })
    }

    /// Single flight: concurrent callers share one fetch, and the source is
    /// asked at most once per `min_refetch_interval`.
    async fn refetch(&self, seen_generation: u64, wait: Wait) {
        let _guard = match wait {
            Wait::Yes => self.fetch_lock.lock().await,
            Wait::No => match self.fetch_lock.try_lock() {
                Ok(guard) => guard,
                Err(_) => return,
            },
        };
        let started = Instant::now();
        {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            if state.generation != seen_generation {
                return; // another caller fetched while we waited
            }
            if state
                .last_attempt
                .is_some_and(|last| started.duration_since(last) < self.policy.min_refetch_interval)
            {
                return;
            }
            state.last_attempt = Some(started);
        }
        let result = match self.source.fetch().await {
            Ok(set) if set.keys.is_empty() => Err(KeyFetchError::NoKeys {
                source_name: self.source.describe(),
            }),
            other => other,
        };
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.generation += 1;
        match result {
            Ok(set) => {
                let fresh_for = self.policy.freshness(set.max_age);
                tracing::debug!(
                    source = %self.source.describe(),
                    keys = set.keys.len(),
                    fresh_for_secs = fresh_for.as_secs(),
                    "fetched token verification keys"
                );
                state.keys = Arc::new(set.keys);
                state.fresh_until = Some(started + fresh_for);
                state.last_error = None;
            }
            Err(error) => {
                if state.is_usable(started, self.policy.max_stale) {
                    tracing::warn!(
                        source = %self.source.describe(),
                        error = %error,
                        "fetching token verification keys failed; using cached keys"
                    );
                } else {
                    tracing::error!(
                        source = %self.source.describe(),
                        error = %error,
                        "fetching token verification keys failed; no usable keys"
                    );
                }
                state.last_error = Some(error);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn freshness_is_clamped() {
        let policy = CachePolicy {
            min_refetch_interval: Duration::from_secs(30),
            min_cache: Duration::from_secs(60),
            max_cache: Duration::from_secs(6 * 3600),
            max_stale: Duration::from_secs(3600),
        };
        assert_eq!(policy.freshness(None), Duration::from_secs(60));
        assert_eq!(
            policy.freshness(Some(Duration::ZERO)),
            Duration::from_secs(60)
        );
        assert_eq!(
            policy.freshness(Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
        assert_eq!(
            policy.freshness(Some(Duration::from_secs(86_400 * 7))),
            Duration::from_secs(6 * 3600)
        );
    }
}
