//! Bounded work per request, probed as an attacker would: for one
//! endpoint, the largest legal request, the smallest illegal one (one
//! element or character over) and a huge illegal one (as large as the body
//! limit allows), each timed. Every refusal must come before per-element
//! work, so refusing even the huge request costs no more than a constant
//! factor of serving the largest legal one.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use http::{Method, Request, StatusCode, header};
use serde::Serialize;

use crate::http::TestResponse;

/// The constant factor, and an allowance for a debug build's fixed costs.
pub const FACTOR: u32 = 4;
pub const ALLOWANCE: Duration = Duration::from_millis(30);

/// How many times each request is sent; the median counts.
const RUNS: usize = 5;

/// The last answer to `send` and the median of `RUNS` timings.
pub async fn timed<F, Fut>(mut send: F) -> (TestResponse, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let response = send().await;
        times.push(started.elapsed());
        last = Some(response);
    }
    times.sort();
    (last.expect("at least one run"), times[RUNS / 2])
}

/// A request to send again and again, its body serialised once: what is
/// timed is the service's work, not the test's serialisation.
#[derive(Debug, Clone)]
pub struct Prepared {
    method: Method,
    path: String,
    token: Option<String>,
    body: Bytes,
}

impl Prepared {
    /// `method path` with `body` as JSON.
    pub fn json(method: Method, path: &str, token: Option<&str>, body: &impl Serialize) -> Self {
        Self {
            method,
            path: path.to_owned(),
            token: token.map(str::to_owned),
            body: serde_json::to_vec(body)
                .expect("a test body serialises")
                .into(),
        }
    }

    /// The request, with `headers` added.
    pub fn request(&self, headers: &[(&str, &str)]) -> Request<Body> {
        let mut builder =
            crate::http::request(self.method.clone(), &self.path, self.token.as_deref())
                .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
            .body(Body::from(self.body.clone()))
            .expect("a valid request")
    }
}

/// One endpoint's three probes.
pub struct Probes {
    pub endpoint: &'static str,
    /// The largest legal request: accepted (2xx).
    pub largest_legal: (TestResponse, Duration),
    /// One over: refused 422 naming `field`.
    pub smallest_illegal: (TestResponse, Duration),
    /// Far over (near the body limit): refused 4xx.
    pub huge_illegal: (TestResponse, Duration),
    /// The field the illegal requests are refused for.
    pub field: &'static str,
}

impl Probes {
    /// Check the answers and the times, and print the times (the closing
    /// notes quote a release build's: `cargo test --release … bounds --
    /// --nocapture`).
    #[track_caller]
    pub fn check(&self) {
        let (legal, t_legal) = &self.largest_legal;
        let (small, t_small) = &self.smallest_illegal;
        let (huge, t_huge) = &self.huge_illegal;
        assert!(
            legal.status.is_success(),
            "{}: the largest legal request was refused: {} {}",
            self.endpoint,
            legal.status,
            legal.text()
        );
        let problem = small.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            problem.errors.iter().any(|e| e.field == self.field),
            "{}: {} not named: {:?}",
            self.endpoint,
            self.field,
            problem.errors
        );
        assert!(
            huge.status.is_client_error(),
            "{}: the huge request got {}",
            self.endpoint,
            huge.status
        );
        eprintln!(
            "bounds {:<28} largest legal {:>9.3?}  smallest illegal {:>9.3?}  huge illegal {:>9.3?}",
            self.endpoint, t_legal, t_small, t_huge
        );
        let limit = *t_legal * FACTOR + ALLOWANCE;
        for (what, t) in [("smallest illegal", t_small), ("huge illegal", t_huge)] {
            assert!(
                *t <= limit,
                "{}: refusing the {what} request took {t:?}, over {FACTOR}× the largest legal one ({t_legal:?}) + {ALLOWANCE:?}",
                self.endpoint
            );
        }
    }
}
