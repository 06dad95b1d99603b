//! The gateway's settings (`CRAFTCHAIN_GATEWAY_*`).

use std::collections::BTreeMap;

use common::ServiceSettings;
use common::config::SharedConfig;
use common::platform;
use serde::Deserialize;
use url::Url;

/// Requests allowed per window, with a burst.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Requests per `per_secs`.
    pub requests: u32,
    pub per_secs: u32,
    /// How many may come at once.
    pub burst: u32,
}

/// Settings of the gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Base URL of each service.
    pub upstreams: BTreeMap<String, Url>,
    /// Sign-up, login and refresh, per client IP: brute-force protection.
    pub auth_quota: Quota,
    /// Writes (POST, PUT, PATCH, DELETE), per user or IP.
    pub write_quota: Quota,
    /// Reads, per user or IP.
    pub read_quota: Quota,
    /// Rate-limit keys remembered per quota before old ones are evicted.
    pub max_rate_keys: usize,
    /// Verified tokens remembered (never past their expiry).
    pub token_cache_size: usize,
    /// Request body limit, bytes, for everything but media uploads.
    pub body_limit_bytes: u64,
    /// Request body limit for `/media`.
    pub media_body_limit_bytes: u64,
    /// Time for an upstream to start answering, seconds.
    pub upstream_timeout_secs: u64,
    /// The same for `/media` uploads and `/ml`.
    pub slow_upstream_timeout_secs: u64,
    /// The most requests under way with one upstream at once (and so the
    /// most connections busy with it). 128: the gateway reached its peak
    /// (about 9,400 rps through to product) with 64 client connections,
    /// so with no more than 64 exchanges under way; twice that leaves room
    /// for slower moments while staying well inside what one service
    /// admits by default (512 in flight, a listen backlog of 1,024).
    pub upstream_max_connections: usize,
    /// How long a request waits for one of those to finish, ms, before
    /// the gateway answers 503 `upstream_busy`: the most an answered
    /// request spends waiting here.
    pub upstream_wait_ms: u64,
    /// How long after it started that 503 is sent, ms: a client retrying
    /// at once cannot make the gateway spend its CPU refusing it (the
    /// services pace their own refusals the same way, `load.shed_pace_ms`).
    pub upstream_busy_pace_ms: u64,
    /// Time to open a connection to an upstream, ms; as long again for
    /// the TLS handshake of an `https://` one.
    pub connect_timeout_ms: u64,
    /// Consecutive failures that open an upstream's circuit.
    pub breaker_failures: u32,
    /// First open period; doubles while probes fail.
    pub breaker_open_ms: u64,
    pub breaker_max_open_ms: u64,
    /// Web origins allowed by CORS.
    pub cors_origins: Vec<String>,
    /// Trust `X-Forwarded-For` from the load balancer in front (production).
    pub trust_forwarded_for: bool,
    /// PEM certificates trusted for `https://` upstreams besides the
    /// system's roots (a private CA).
    pub upstream_ca_file: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        let upstreams = platform::ALL
            .into_iter()
            .filter(|s| *s != platform::GATEWAY)
            .map(|s| (s.name.to_owned(), s.local_url()))
            .collect();
        Self {
            upstreams,
            auth_quota: Quota {
                requests: 10,
                per_secs: 60,
                burst: 10,
            },
            write_quota: Quota {
                requests: 20,
                per_secs: 1,
                burst: 40,
            },
            read_quota: Quota {
                requests: 100,
                per_secs: 1,
                burst: 200,
            },
            max_rate_keys: 100_000,
            token_cache_size: 50_000,
            body_limit_bytes: 2 * 1024 * 1024,
            media_body_limit_bytes: 64 * 1024 * 1024,
            upstream_timeout_secs: 15,
            slow_upstream_timeout_secs: 120,
            upstream_max_connections: 128,
            upstream_wait_ms: 10,
            upstream_busy_pace_ms: 250,
            connect_timeout_ms: 1000,
            breaker_failures: 5,
            breaker_open_ms: 1000,
            breaker_max_open_ms: 30_000,
            cors_origins: vec!["http://localhost:3000".to_owned()],
            trust_forwarded_for: false,
            upstream_ca_file: None,
        }
    }
}

impl ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        for (name, q) in [
            ("auth_quota", self.auth_quota),
            ("write_quota", self.write_quota),
            ("read_quota", self.read_quota),
        ] {
            if q.requests == 0 || q.per_secs == 0 || q.burst == 0 {
                p.push(format!(
                    "{name} needs positive requests, per_secs and burst"
                ));
            }
        }
        if self.max_rate_keys == 0 || self.token_cache_size == 0 {
            p.push("max_rate_keys and token_cache_size must be positive".to_owned());
        }
        if self.upstream_max_connections == 0 {
            p.push("upstream_max_connections must be positive".to_owned());
        }
        if self.breaker_failures == 0 {
            p.push("breaker_failures must be positive".to_owned());
        }
        for origin in &self.cors_origins {
            if http::HeaderValue::from_str(origin).is_err() {
                p.push(format!("cors_origins: {origin:?} is not a valid origin"));
            }
        }
        p
    }
}
