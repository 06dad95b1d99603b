//! The product service's own settings (`CRAFTCHAIN_PRODUCT_*`).

use common::ServiceSettings;
use common::config::SharedConfig;
use common::platform;
use serde::Deserialize;
use url::Url;

/// Settings of the product service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The media service (checks media ids).
    pub media_url: Url,
    /// The ML service (cultural stories).
    pub ml_url: Url,
    /// How often counted views are written, milliseconds.
    pub view_flush_ms: u64,
    /// How often the search index catches up with the store, milliseconds.
    pub index_sync_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            media_url: platform::MEDIA.local_url(),
            ml_url: platform::ML.local_url(),
            view_flush_ms: 2000,
            index_sync_ms: 500,
        }
    }
}

impl ServiceSettings for Settings {
    fn problems(&self, _shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if self.view_flush_ms == 0 || self.index_sync_ms == 0 {
            p.push("view_flush_ms and index_sync_ms must be positive".to_owned());
        }
        p
    }
}
