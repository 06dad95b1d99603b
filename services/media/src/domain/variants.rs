//! Variants: made off the async runtime under the concurrency limit,
//! stored as blobs, and re-derived from the original on request.

use std::sync::Arc;

use store::Versioned;

use crate::domain::library::Library;
use crate::domain::media::{Media, MediaView, Variant, original_key, variant_key};
use crate::domain::pipeline::{self, Processed, VariantSpec};
use crate::error::MediaError;

impl Library {
    /// Make the variants of `bytes` on a blocking thread, if an image
    /// worker is free ([`MediaError::Busy`] if not).
    pub(super) async fn derive(
        &self,
        bytes: Arc<Vec<u8>>,
        specs: Vec<VariantSpec>,
    ) -> Result<Processed, MediaError> {
        let permit = self
            .workers
            .clone()
            .try_acquire_owned()
            .map_err(|_| MediaError::Busy)?;
        let limits = self.limits;
        let processed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            pipeline::process(&bytes, &limits, &specs)
        })
        .await?;
        Ok(processed?)
    }

    /// Store the variants' blobs and describe them.
    pub(super) async fn store_variants(
        &self,
        id: &str,
        processed: Processed,
    ) -> Result<Vec<Variant>, MediaError> {
        let mut variants = Vec::with_capacity(processed.variants.len());
        for v in processed.variants {
            let variant = Variant::of(&v);
            self.blobs
                .put(&variant_key(id, &variant.name), v.bytes)
                .await?;
            variants.push(variant);
        }
        Ok(variants)
    }

    /// Derive the variants of `specs` from the original of `media` (loaded
    /// by the caller, who checked it may do this). New variants join the
    /// existing ones: a name always has the same bytes, since derivation is
    /// deterministic, so links to earlier ones keep working.
    pub async fn optimize(
        &self,
        mut media: Versioned<Media>,
        specs: Vec<VariantSpec>,
    ) -> Result<MediaView, MediaError> {
        let id = media.id.clone();
        let original = self.blobs.read(&original_key(&id)).await?;
        let processed = self.derive(Arc::new(original.to_vec()), specs).await?;
        let fresh = self.store_variants(&id, processed).await?;
        media
            .value
            .variants
            .retain(|v| !fresh.iter().any(|n| n.name == v.name));
        media.value.variants.extend(fresh);
        self.media
            .update(&id, &media.value, media.version)
            .await
            .map_err(|e| {
                if e.is_conflict() {
                    MediaError::ChangedMeanwhile
                } else {
                    e.into()
                }
            })?;
        Ok(MediaView::new(&id, &media.value))
    }
}
