//! The reviews service's own settings (`CRAFTCHAIN_REVIEWS_*`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The longest review, in characters.
    pub max_text: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { max_text: 2000 }
    }
}

impl common::ServiceSettings for Settings {}
