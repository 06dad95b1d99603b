//! The ML service's own settings (`CRAFTCHAIN_ML_*`).

use common::SharedConfig;
use common::platform;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The media service, asked for a product's photos.
    pub media_url: Url,
    /// The largest image file accepted, in bytes.
    pub max_image_bytes: usize,
    /// The most pixels (width × height) an image may declare.
    pub max_image_pixels: u64,
    /// Images analysed at once (each takes one core for tens of
    /// milliseconds); more wait up to `busy_wait_ms`, then get 503.
    pub max_concurrent_analyses: usize,
    pub busy_wait_ms: u64,
    /// How often the analysis worker looks for listed products to analyse.
    pub worker_interval_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            media_url: platform::MEDIA.local_url(),
            max_image_bytes: 25 * 1024 * 1024,
            max_image_pixels: 50_000_000,
            max_concurrent_analyses: 2,
            busy_wait_ms: 2_000,
            worker_interval_ms: 500,
        }
    }
}

impl Settings {
    /// The image limits, as the decoder checks them.
    pub fn limits(&self) -> imaging::Limits {
        imaging::Limits {
            max_bytes: self.max_image_bytes,
            max_pixels: self.max_image_pixels,
            ..imaging::Limits::default()
        }
    }
}

impl common::ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if self.max_concurrent_analyses == 0 {
            p.push("max_concurrent_analyses must be at least 1".to_owned());
        }
        if self.max_image_bytes == 0 || self.max_image_pixels == 0 {
            p.push("image limits must be positive".to_owned());
        }
        p
    }
}
