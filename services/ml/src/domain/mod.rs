//! What the ML service knows and computes, without HTTP.

pub mod colour;
pub mod consumer;
pub mod demand;
pub mod image;
pub mod jobs;
pub mod media;
pub mod price;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::error::MlError;
use image::Analysis;

/// Image analyses, bounded: at most `max_concurrent_analyses` run at once
/// (each on a blocking thread), the rest wait a little, then are refused.
#[derive(Clone)]
pub struct Analyser {
    slots: Arc<Semaphore>,
    wait: Duration,
    limits: imaging::Limits,
}

impl Analyser {
    pub fn new(settings: &Settings) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(settings.max_concurrent_analyses)),
            wait: Duration::from_millis(settings.busy_wait_ms),
            limits: settings.limits(),
        }
    }

    /// Analyse `bytes` (whose original was `size`, when they are a
    /// variant); 503 when every slot stays busy.
    pub async fn analyse(
        &self,
        bytes: bytes::Bytes,
        size: Option<(u32, u32)>,
    ) -> Result<Analysis, MlError> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| MlError::Busy)?
            .map_err(|_| MlError::Busy)?;
        let limits = self.limits;
        let analysis = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            image::analyse_bytes(&bytes, &limits, size)
        })
        .await??;
        Ok(analysis)
    }
}
