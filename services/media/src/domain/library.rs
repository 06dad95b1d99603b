//! The media library: the records, their blobs and the image workers, and
//! the operations every route shares (load, serve, delete).

use std::ops::Range;
use std::sync::Arc;

use common::Caller;
use events::Publisher;
use store::{Collection, Store, StoreError, Txn, Versioned};
use tokio::sync::Semaphore;

use crate::domain::blobs::{Blob, BlobStore};
use crate::domain::media::{ByHash, Media, Variant, variant_key};
use crate::domain::pipeline::Limits;
use crate::domain::publication::PublishedBy;
use crate::error::MediaError;

/// Media records with their blobs, and the permits for image work.
#[derive(Clone)]
pub struct Library {
    pub(super) store: Store,
    pub(super) media: Collection<Media>,
    pub(super) hashes: Collection<ByHash>,
    pub(super) published: Collection<PublishedBy>,
    pub(super) blobs: BlobStore,
    pub(super) publisher: Publisher,
    pub(super) limits: Limits,
    /// Permits for image work; none left → [`MediaError::Busy`].
    pub(super) workers: Arc<Semaphore>,
}

impl Library {
    /// A library over `store` and `blobs` that accepts images within
    /// `limits` and processes at most `workers` at once.
    pub fn new(
        store: Store,
        blobs: BlobStore,
        publisher: Publisher,
        limits: Limits,
        workers: usize,
    ) -> Self {
        Self {
            media: store.collection(),
            hashes: store.collection(),
            published: store.collection(),
            store,
            blobs,
            publisher,
            limits,
            workers: Arc::new(Semaphore::new(workers)),
        }
    }

    /// What an upload may be.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A media item, or [`MediaError::NotFound`].
    pub async fn get(&self, id: &str) -> Result<Versioned<Media>, MediaError> {
        self.media
            .get(id)
            .await?
            .ok_or_else(|| MediaError::NotFound(format!("media {id}")))
    }

    /// Media `id` if `caller` may see it ([`Media::visible_to`]), else 404
    /// as if absent, and whether the public may see it.
    pub async fn visible(
        &self,
        id: &str,
        caller: Option<&Caller>,
    ) -> Result<(Versioned<Media>, bool), MediaError> {
        let media = self.get(id).await?;
        let published = self.published.get(id).await?.is_some();
        if media.value.visible_to(caller, published) {
            Ok((media, published))
        } else {
            Err(MediaError::NotFound(format!("media {id}")))
        }
    }

    /// The variant `name` of media `id` if `caller` may see it, or
    /// [`MediaError::NotFound`]; and whether the public may see it.
    pub async fn variant(
        &self,
        id: &str,
        name: &str,
        caller: Option<&Caller>,
    ) -> Result<(Variant, bool), MediaError> {
        let (media, published) = self.visible(id, caller).await?;
        media
            .value
            .variants
            .into_iter()
            .find(|v| v.name == name)
            .map(|v| (v, published))
            .ok_or_else(|| MediaError::NotFound(format!("variant {name} of media {id}")))
    }

    /// The bytes of a variant, or a range of them.
    pub async fn variant_bytes(
        &self,
        id: &str,
        name: &str,
        range: Option<Range<u64>>,
    ) -> Result<Blob, MediaError> {
        Ok(self.blobs.get(&variant_key(id, name), range).await?)
    }

    /// Delete a media item (its owner or an admin): its record and hash
    /// link, then its blobs.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), MediaError> {
        let (media, _) = self.visible(id, Some(caller)).await?;
        media.value.ensure_owner_or_admin(caller)?;
        let hash_key = media.value.hash_key();
        self.store
            .transact(async |tx: &mut Txn| {
                tx.delete::<Media>(id)?;
                tx.delete::<ByHash>(&hash_key)?;
                Ok::<_, StoreError>(())
            })
            .await?;
        self.delete_blobs(id, &media.value).await;
        Ok(())
    }

    /// Delete a media item's blobs (best effort; logged).
    pub(super) async fn delete_blobs(&self, id: &str, media: &Media) {
        for key in media.blob_keys(id) {
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(media_id = id, key, error = %e, "blob not deleted");
            }
        }
    }
}
