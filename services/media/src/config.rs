//! The media service's own settings (`CRAFTCHAIN_MEDIA_*`).

use common::ServiceSettings;
use common::config::SharedConfig;
use serde::Deserialize;

use crate::domain::pipeline::Limits;

pub use blobs::BlobConfig;

/// Settings of the media service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub blobs: BlobConfig,
    /// Largest file accepted, bytes.
    pub max_file_bytes: usize,
    /// Largest upload request (all files), bytes.
    pub max_request_bytes: usize,
    /// Most pixels an image may declare.
    pub max_pixels: u64,
    /// Longest side an image may declare.
    pub max_side: u32,
    /// Images processed at once; more uploads meanwhile get 503.
    pub max_concurrent_jobs: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            blobs: BlobConfig::Local { root: None },
            max_file_bytes: 25 * 1024 * 1024,
            max_request_bytes: 60 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_side: 12_000,
            max_concurrent_jobs: 2,
        }
    }
}

impl Settings {
    /// What one uploaded file may be.
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_file_bytes,
            max_pixels: self.max_pixels,
            max_side: self.max_side,
        }
    }
}

impl ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if self.max_file_bytes == 0 || self.max_request_bytes < self.max_file_bytes {
            p.push("max_request_bytes must be at least max_file_bytes (> 0)".to_owned());
        }
        if self.max_concurrent_jobs == 0 {
            p.push("max_concurrent_jobs must be positive".to_owned());
        }
        p.extend(self.blobs.problems());
        p
    }
}
