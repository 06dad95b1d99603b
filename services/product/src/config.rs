//! The product service's own settings (`CRAFTCHAIN_PRODUCT_*`).

use common::ServiceSettings;
use common::config::{Environment, SharedConfig};
use common::platform;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::domain::payments::razorpay::RazorpayConfig;

/// Which card/UPI provider takes buyers' money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardProvider {
    /// The local stand-in of a provider's test mode (refused in production).
    Sandbox,
    /// Razorpay (`payments.razorpay` must be set).
    Razorpay,
}

/// How buyers pay (`CRAFTCHAIN_PRODUCT_PAYMENTS__*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSettings {
    /// The card/UPI provider.
    pub provider: CardProvider,
    /// Razorpay's keys and webhook secret.
    pub razorpay: Option<RazorpayConfig>,
    /// The secret the sandbox signs its webhooks with.
    pub sandbox_secret: SecretString,
    /// Offer escrow on chain (through the blockchain service) too.
    pub escrow: bool,
    /// An order not paid this long after it was placed is cancelled.
    pub unpaid_expiry_secs: u64,
    /// How often refunds owed and unpaid orders are looked at, milliseconds.
    pub sweep_ms: u64,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            provider: CardProvider::Sandbox,
            razorpay: None,
            sandbox_secret: SecretString::from("craftchain-sandbox-webhook-secret"),
            escrow: true,
            unpaid_expiry_secs: 30 * 60,
            sweep_ms: 1000,
        }
    }
}

/// Settings of the product service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The media service (checks media ids).
    pub media_url: Url,
    /// The ML service (cultural stories).
    pub ml_url: Url,
    /// The blockchain service (escrow deposits).
    pub blockchain_url: Url,
    /// Where this service is reached (the sandbox delivers its webhooks here).
    pub self_url: Url,
    /// How buyers pay.
    pub payments: PaymentSettings,
    /// How often counted views are written, milliseconds.
    pub view_flush_ms: u64,
    /// How often the search index catches up with the store, milliseconds.
    pub index_sync_ms: u64,
    /// Where snapshots of the search index's documents are kept
    /// (`CRAFTCHAIN_PRODUCT_SEARCH_SNAPSHOTS__BACKEND=gcs`, `…__BUCKET`), so
    /// that a new instance builds its index from one object; unset, every
    /// new instance reads the whole catalogue.
    pub search_snapshots: Option<blobs::BlobConfig>,
    /// The oldest snapshot a new instance uses, seconds (older: the whole
    /// catalogue is read and a new snapshot written).
    pub search_snapshot_max_age_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            media_url: platform::MEDIA.local_url(),
            ml_url: platform::ML.local_url(),
            blockchain_url: platform::BLOCKCHAIN.local_url(),
            self_url: platform::PRODUCT.local_url(),
            payments: PaymentSettings::default(),
            view_flush_ms: 2000,
            index_sync_ms: 500,
            search_snapshots: None,
            search_snapshot_max_age_secs: 24 * 3600,
        }
    }
}

impl ServiceSettings for Settings {
    fn problems(&self, shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if self.view_flush_ms == 0 || self.index_sync_ms == 0 {
            p.push("view_flush_ms and index_sync_ms must be positive".to_owned());
        }
        let pay = &self.payments;
        match pay.provider {
            CardProvider::Sandbox if shared.environment == Environment::Production => {
                p.push(
                    "payments.provider sandbox takes no real money: not in production".to_owned(),
                );
            }
            CardProvider::Razorpay if pay.razorpay.is_none() => {
                p.push(
                    "payments.razorpay (key_id, key_secret, webhook_secret) must be set".to_owned(),
                );
            }
            _ => {}
        }
        if let Some(snapshots) = &self.search_snapshots {
            p.extend(snapshots.problems());
        }
        if self.search_snapshot_max_age_secs < 60 {
            p.push("search_snapshot_max_age_secs must be at least 60".to_owned());
        }
        if pay.unpaid_expiry_secs == 0 || pay.sweep_ms == 0 {
            p.push("payments.unpaid_expiry_secs and payments.sweep_ms must be positive".to_owned());
        }
        p
    }
}
