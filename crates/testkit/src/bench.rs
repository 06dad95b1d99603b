//! What the benchmarks under `services/*/benches` share: a service served
//! on a free port, and latency samples reported as percentiles.

use std::time::Duration;

use common::{Service, SharedConfig};

/// The categories the benchmarks seed: the catalogue's first eight.
pub const CATEGORIES: &[&str] = common::catalogue::CATEGORIES.split_at(8).0;

/// The regions the benchmarks seed: eight states of India's craft clusters.
pub const REGIONS: &[&str] = &[
    "West Bengal",
    "Rajasthan",
    "Gujarat",
    "Odisha",
    "Tamil Nadu",
    "Uttar Pradesh",
    "Kashmir",
    "Assam",
];

/// A service served on a free port until [`Serving::stop`].
pub struct Serving {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    /// Bind `service` as `shared` says (port 0: a free one) and serve it.
    pub async fn start(service: Service, shared: &SharedConfig) -> Self {
        let server = common::Server::bind(service, shared).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            stop,
            handle,
        }
    }

    /// Drain and stop.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
}

/// Latencies of one kind of request; the first `warmup` are left out.
pub struct Latencies {
    warmup: usize,
    seen: usize,
    samples: Vec<Duration>,
}

impl Latencies {
    pub fn new(warmup: usize, capacity: usize) -> Self {
        Self {
            warmup,
            seen: 0,
            samples: Vec::with_capacity(capacity),
        }
    }

    pub fn record(&mut self, took: Duration) {
        self.seen += 1;
        if self.seen > self.warmup {
            self.samples.push(took);
        }
    }

    /// The `q`-quantile (nearest rank).
    pub fn percentile(&mut self, q: f64) -> Duration {
        self.samples.sort_unstable();
        self.samples[((self.samples.len() as f64 - 1.0) * q).round() as usize]
    }

    /// `<label> p50 … p99 …   (<target>)`.
    pub fn line(&mut self, label: &str, target: &str) -> String {
        let (p50, p99) = (self.percentile(0.5), self.percentile(0.99));
        format!("  {label} p50 {p50:>7.2?}  p99 {p99:>7.2?}   ({target})")
    }
}

/// The benchmark's numeric arguments in order, each defaulting to its
/// place in `defaults` when left out or not a number.
pub fn args<const N: usize>(defaults: [usize; N]) -> [usize; N] {
    let given: Vec<Option<usize>> = std::env::args().skip(1).map(|a| a.parse().ok()).collect();
    let mut out = defaults;
    for (slot, arg) in out.iter_mut().zip(given) {
        if let Some(v) = arg {
            *slot = v;
        }
    }
    out
}
