//! What the ML service knows and computes, without HTTP.

pub mod colour;
pub mod consumer;
pub mod demand;
pub mod image;
pub mod jobs;
pub mod listing;
pub mod media;
pub mod moodboard;
pub mod price;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

    /// A place among the analyses running, waited for up to the configured
    /// time; 503 past it. Take it before reading an upload, so that only
    /// the uploads being analysed are held in memory.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, MlError> {
        tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| MlError::Busy)?
            .map_err(|_| MlError::Busy)
    }

    /// Analyse `bytes` (whose original was `size`, when they are a
    /// variant) in the place `slot`.
    pub async fn analyse_in(
        &self,
        slot: OwnedSemaphorePermit,
        bytes: bytes::Bytes,
        size: Option<(u32, u32)>,
    ) -> Result<Analysis, MlError> {
        let limits = self.limits;
        let analysis = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            image::analyse_bytes(&bytes, &limits, size)
        })
        .await??;
        Ok(analysis)
    }

    /// `work` on a blocking thread, in a place among the analyses, with
    /// the image limits.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&imaging::Limits) -> T + Send + 'static,
    ) -> Result<T, MlError> {
        let slot = self.slot().await?;
        let limits = self.limits;
        Ok(tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work(&limits)
        })
        .await?)
    }

    /// [`Analyser::slot`], then [`Analyser::analyse_in`].
    pub async fn analyse(
        &self,
        bytes: bytes::Bytes,
        size: Option<(u32, u32)>,
    ) -> Result<Analysis, MlError> {
        let slot = self.slot().await?;
        self.analyse_in(slot, bytes, size).await
    }
}
