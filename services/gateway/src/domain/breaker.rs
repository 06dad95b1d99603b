//! A circuit breaker per upstream: after `threshold` consecutive failures
//! (connection refused, timeout, 502/503/504) the circuit opens and
//! requests fail fast with 503; after the open period one probe request is
//! let through (half-open); its success closes the circuit, its failure
//! opens it again for twice as long, up to a cap.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, period: Duration },
    HalfOpen { period: Duration },
}

/// One upstream's breaker.
#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    base: Duration,
    max: Duration,
}

/// Whether a request may go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Open: retry after this long.
    No(Duration),
}

impl Breaker {
    pub fn new(threshold: u32, base: Duration, max: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            base,
            max,
        }
    }

    pub fn admit(&self) -> Admit {
        let Ok(mut state) = self.state.lock() else {
            return Admit::Yes;
        };
        match *state {
            State::Closed { .. } => Admit::Yes,
            State::Open { until, period } => {
                let now = Instant::now();
                if now >= until {
                    *state = State::HalfOpen { period };
                    Admit::Yes
                } else {
                    Admit::No(until - now)
                }
            }
            // One probe is in flight; the others wait for its outcome.
            State::HalfOpen { .. } => Admit::No(Duration::from_millis(100)),
        }
    }

    pub fn success(&self) {
        if let Ok(mut state) = self.state.lock() {
            *state = State::Closed { failures: 0 };
        }
    }

    pub fn failure(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        *state = match *state {
            State::Closed { failures } if failures + 1 >= self.threshold => State::Open {
                until: Instant::now() + self.base,
                period: self.base,
            },
            State::Closed { failures } => State::Closed {
                failures: failures + 1,
            },
            State::HalfOpen { period } | State::Open { period, .. } => {
                let period = (period * 2).min(self.max);
                State::Open {
                    until: Instant::now() + period,
                    period,
                }
            }
        };
    }

    /// An admitted request ended with no outcome. If it was the half-open
    /// probe, the next request may probe instead.
    pub fn abandon(&self) {
        if let Ok(mut state) = self.state.lock()
            && let State::HalfOpen { period } = *state
        {
            *state = State::Open {
                until: Instant::now(),
                period,
            };
        }
    }

    pub fn is_open(&self) -> bool {
        self.state
            .lock()
            .is_ok_and(|s| !matches!(*s, State::Closed { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_recovers_through_a_probe() {
        let b = Breaker::new(3, Duration::from_millis(30), Duration::from_millis(100));
        b.failure();
        b.failure();
        b.success();
        b.failure();
        b.failure();
        assert_eq!(b.admit(), Admit::Yes, "successes reset the count");
        b.failure();
        assert!(matches!(b.admit(), Admit::No(_)));
        std::thread::sleep(Duration::from_millis(35));
        assert_eq!(b.admit(), Admit::Yes, "half-open lets one probe through");
        assert!(matches!(b.admit(), Admit::No(_)), "only one probe");
        b.failure();
        assert!(
            matches!(b.admit(), Admit::No(d) if d > Duration::from_millis(30)),
            "period doubled"
        );
        std::thread::sleep(Duration::from_millis(65));
        assert_eq!(b.admit(), Admit::Yes);
        b.success();
        assert!(!b.is_open());
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_request_probe() {
        let b = Breaker::new(1, Duration::from_millis(10), Duration::from_millis(100));
        b.abandon();
        assert_eq!(
            b.admit(),
            Admit::Yes,
            "abandoning while closed changes nothing"
        );
        b.failure();
        std::thread::sleep(Duration::from_millis(15));
        assert_eq!(b.admit(), Admit::Yes, "the probe");
        assert!(matches!(b.admit(), Admit::No(_)));
        b.abandon();
        assert_eq!(b.admit(), Admit::Yes, "a new probe at once");
        b.success();
        assert!(!b.is_open());
    }
}
