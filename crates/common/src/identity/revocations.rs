//! Revoked ID tokens, the way Firebase does it: each user may have a
//! "tokens valid after" time, and an ID token of that user issued (`iat`)
//! before it is refused. The auth service announces each new time in a
//! `user.tokens_revoked` event; every service keeps the times it was told
//! in memory here, so checking costs a map lookup, not a call.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::client::{ClientError, ServiceClient};
use crate::pagination::Page;

/// How long a revocation is remembered: past the longest ID-token lifetime
/// the auth service allows (24 h) plus the clock leeway, every token it
/// could void has expired anyway.
pub const REMEMBER_SECS: i64 = 24 * 3600 + 300;

/// One user's "tokens valid after" time, as `GET /auth/revocations` lists
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevocationTime {
    pub user_id: String,
    /// Unix seconds: the user's ID tokens issued before are void.
    pub valid_after: i64,
}

/// The most a revocation's time may lie ahead of this service's clock (a
/// later one would void tokens not yet issued).
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// Users' "tokens valid after" times (Unix seconds), as announced.
#[derive(Debug, Default)]
pub struct Revocations {
    by_user: RwLock<HashMap<String, i64>>,
}

impl Revocations {
    /// Tokens of `uid` issued before `valid_after` are void from now on. A
    /// time earlier than one already known changes nothing, so repeated and
    /// reordered deliveries are harmless.
    pub fn record(&self, uid: &str, valid_after: i64, now: i64) {
        let mut map = self.by_user.write().unwrap_or_else(|e| e.into_inner());
        if valid_after <= now - REMEMBER_SECS {
            return;
        }
        // Forget what can no longer matter (every 1,024 users), so the map
        // holds at most about a day's revocations.
        if !map.is_empty() && map.len().is_multiple_of(1024) {
            map.retain(|_, at| *at > now - REMEMBER_SECS);
        }
        let entry = map.entry(uid.to_owned()).or_insert(valid_after);
        *entry = (*entry).max(valid_after);
    }

    /// Whether a token of `uid` issued at `iat` has been revoked.
    pub fn is_revoked(&self, uid: &str, iat: i64) -> bool {
        let map = self.by_user.read().unwrap_or_else(|e| e.into_inner());
        map.get(uid).is_some_and(|valid_after| iat < *valid_after)
    }

    /// Load every revocation still in force from the auth service, page by
    /// page (what a service starting up does: the events reach only the
    /// services running when they are sent). Answers how many were loaded.
    pub async fn load(&self, auth: &ServiceClient) -> Result<usize, ClientError> {
        let mut cursor: Option<String> = None;
        let mut loaded = 0;
        loop {
            let path = match &cursor {
                None => "/auth/revocations?limit=100".to_owned(),
                Some(c) => format!("/auth/revocations?limit=100&cursor={c}"),
            };
            let page: Page<RevocationTime> = auth.get_json(&path).await?;
            let now = chrono::Utc::now().timestamp();
            for r in page
                .items
                .iter()
                .filter(|r| r.valid_after <= now + MAX_CLOCK_SKEW_SECS && r.user_id.len() <= 128)
            {
                self.record(&r.user_id, r.valid_after, now);
                loaded += 1;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(loaded),
            }
        }
    }

    /// [`load`](Self::load) until it succeeds once (1 s, 2 s … 30 s apart)
    /// or `cancel` fires: a service's background task at start.
    pub async fn load_at_start(&self, auth: ServiceClient, cancel: CancellationToken) {
        let mut wait = Duration::from_secs(1);
        let mut attempts = 0u32;
        loop {
            match self.load(&auth).await {
                Ok(n) => {
                    tracing::info!(revocations = n, "revocations in force loaded");
                    return;
                }
                Err(e) => {
                    attempts += 1;
                    if attempts == 3 {
                        tracing::warn!(error = %e, "revocations not loaded yet; retrying");
                    } else {
                        tracing::debug!(error = %e, "revocations not loaded yet; retrying");
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }

    /// How many users' times are remembered.
    pub fn len(&self) -> usize {
        self.by_user.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_issued_before_the_time_are_revoked_and_later_ones_are_not() {
        let r = Revocations::default();
        let now = 1_800_000_000;
        assert!(!r.is_revoked("u1", now - 10));
        r.record("u1", now, now);
        assert!(r.is_revoked("u1", now - 1));
        assert!(!r.is_revoked("u1", now), "issued in the same second: valid");
        assert!(!r.is_revoked("u1", now + 5));
        assert!(!r.is_revoked("u2", now - 1), "other users are untouched");
        // An older time, delivered late, does not move it back.
        r.record("u1", now - 100, now);
        assert!(r.is_revoked("u1", now - 1));
    }

    #[test]
    fn revocations_older_than_any_token_are_forgotten() {
        let r = Revocations::default();
        let now = 1_800_000_000;
        r.record("old", now - REMEMBER_SECS - 1, now);
        assert!(r.is_empty());
        // Recorded a while ago, when they still mattered…
        for i in 0..2048 {
            r.record(&format!("u{i}"), now - REMEMBER_SECS - 5, now - 100);
        }
        assert_eq!(r.len(), 2048);
        // …and forgotten now that every token they could void has expired.
        r.record("fresh", now, now);
        assert_eq!(r.len(), 1);
        assert!(r.is_revoked("fresh", now - 1));
    }
}
