//! The analytics service's own settings (`CRAFTCHAIN_ANALYTICS_*`).

use std::path::PathBuf;

use blobs::BlobConfig;
use common::SharedConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The fact file (default: `<service dir>/facts.sqlite`).
    pub facts_path: Option<PathBuf>,
    /// Where rendered reports are kept (default: a directory
    /// `<service dir>/reports`; Cloud Storage in production).
    pub blobs: BlobConfig,
    /// The most rows a report returns or renders.
    pub max_report_rows: usize,
    /// Report jobs rendered at once (each on a blocking thread).
    pub report_workers: usize,
    /// How often the report worker and the schedule look for work, in
    /// milliseconds (a new job wakes the worker at once).
    pub poll_ms: u64,
    /// A market's figures are shown only when at least this many artisans
    /// sold in it, in each window they cover: fewer, and the figures
    /// would show one artisan's sales and prices to the others.
    pub market_min_sellers: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            facts_path: None,
            blobs: BlobConfig::default(),
            max_report_rows: 5_000,
            report_workers: 1,
            poll_ms: 60_000,
            market_min_sellers: 3,
        }
    }
}

impl Settings {
    /// The fact file for this service.
    pub fn facts_path(&self, shared: &SharedConfig) -> PathBuf {
        self.facts_path
            .clone()
            .unwrap_or_else(|| shared.service_dir().join("facts.sqlite"))
    }
}

impl common::ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = self.blobs.problems();
        if !(10..=50_000).contains(&self.max_report_rows) {
            p.push("max_report_rows must be 10 to 50,000".to_owned());
        }
        if !(1..=8).contains(&self.report_workers) {
            p.push("report_workers must be 1 to 8".to_owned());
        }
        if self.poll_ms == 0 {
            p.push("poll_ms must be positive".to_owned());
        }
        if !(1..=100).contains(&self.market_min_sellers) {
            p.push("market_min_sellers must be 1 to 100".to_owned());
        }
        p
    }
}
