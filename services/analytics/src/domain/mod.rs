//! What the analytics service does: keeps facts, answers dashboards,
//! market trends and product performance from them, renders reports.

pub mod consumer;
pub mod dashboard;
pub mod jobs;
pub mod performance;
pub mod period;
pub mod schedules;
pub mod trends;

use std::sync::Arc;

use blobs::BlobStore;
use common::Caller;
use store::Store;
use tokio::sync::Notify;

use crate::config::Settings;
use crate::error::AnalyticsError;
use crate::facts::{FactStore, StoredProduct};

/// The service's parts.
pub struct Analytics {
    pub settings: Settings,
    pub facts: Arc<dyn FactStore>,
    pub store: Store,
    pub blobs: BlobStore,
    /// Told when a report job is queued.
    pub jobs: Arc<Notify>,
    /// Announces subscribed reports when they are ready (`report.ready`).
    pub publisher: events::Publisher,
}

impl Analytics {
    /// Run `f` on the fact store off the async workers.
    pub async fn facts<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn FactStore) -> Result<T, crate::facts::FactError> + Send + 'static,
    ) -> Result<T, AnalyticsError> {
        let facts = self.facts.clone();
        Ok(tokio::task::spawn_blocking(move || f(facts.as_ref())).await??)
    }

    /// The product's facts, if `caller` may see how it performs: its
    /// artisan or an admin (anyone else: 403; an unknown product: 404).
    pub async fn product_of(
        &self,
        caller: &Caller,
        product_id: &str,
    ) -> Result<StoredProduct, AnalyticsError> {
        let id = product_id.to_owned();
        let product = self
            .facts(move |f| f.product(&id))
            .await?
            .filter(|p| p.status != "deleted")
            .ok_or_else(|| common::ApiError::not_found(format!("product {product_id}")))?;
        may_see(caller, &product.artisan_id)?;
        Ok(product)
    }
}

/// The one rule of who sees a user's figures: the user themself or an
/// admin. Every route returning an artisan's or buyer's analytics (a
/// dashboard, a product's performance, a report, a report's files, a
/// schedule) asks it.
pub fn may_see(caller: &Caller, owner: &str) -> Result<(), AnalyticsError> {
    Ok(caller.require_owner_or_admin(owner)?)
}

/// `part` of `whole` as a percentage change, one decimal; `None` when the
/// base is zero (no change can be stated against nothing).
pub fn change_pct(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| round1((now - before) / before.abs() * 100.0))
}

/// Rounded to one decimal.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Rounded to four decimals (ratios).
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
