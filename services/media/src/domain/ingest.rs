//! Uploads: every file is checked from its header before any is stored;
//! then each is stored once per owner and bytes, with its variants, in one
//! transaction with its `media.uploaded` event.

use std::sync::Arc;

use common::{Caller, Id};
use events::v1::MediaUploaded;
use sha2::{Digest, Sha256};
use store::{StoreError, Txn};

use crate::domain::library::Library;
use crate::domain::media::{ByHash, Media, MediaView, Placeholder, hash_key, original_key};
use crate::domain::pipeline::{self, VariantSpec};
use crate::error::MediaError;

/// Most files in one upload (the route stops reading at the next one).
pub const MAX_FILES: usize = 10;

/// One upload: its files, in order, and what they are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub files: Vec<Vec<u8>>,
    /// The product the images show, if any.
    pub product_id: Option<Id>,
    /// Whether to derive the default variants (thumb, medium, large).
    pub optimize: bool,
}

impl Library {
    /// Store every file of `upload` as the caller's: one item per file, in
    /// order. A file refused changes nothing; the same owner uploading the
    /// same bytes again gets the existing item.
    pub async fn upload(
        &self,
        caller: &Caller,
        upload: Upload,
    ) -> Result<Vec<MediaView>, MediaError> {
        if upload.files.is_empty() {
            return Err(MediaError::invalid(
                "file",
                "required",
                "attach at least one file",
            ));
        }
        if upload.files.len() > MAX_FILES {
            return Err(MediaError::invalid(
                "file",
                "too_many",
                format!("at most {MAX_FILES} files per upload"),
            ));
        }
        // Check every file before storing any, so a bad one changes nothing
        // (off the async workers: up to MAX_FILES × max_bytes are read).
        let limits = self.limits;
        let files = upload.files;
        let files = tokio::task::spawn_blocking(move || {
            for bytes in &files {
                pipeline::probe(bytes, &limits)?;
            }
            Ok::<_, MediaError>(files)
        })
        .await??;
        let specs = if upload.optimize {
            pipeline::default_variants()
        } else {
            Vec::new()
        };
        let product_id = upload.product_id.map(Id::into_string);
        let mut items = Vec::with_capacity(files.len());
        for bytes in files {
            items.push(
                self.ingest(&caller.uid, bytes, product_id.clone(), &specs)
                    .await?,
            );
        }
        Ok(items)
    }

    async fn ingest(
        &self,
        owner: &str,
        bytes: Vec<u8>,
        product_id: Option<String>,
        specs: &[VariantSpec],
    ) -> Result<MediaView, MediaError> {
        let bytes = Arc::new(bytes);
        let sha256 = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&*bytes))).await?
        };
        let hash_key = hash_key(owner, &sha256);
        if let Some(existing) = self.existing(&hash_key).await? {
            return Ok(existing);
        }
        let processed = self.derive(bytes.clone(), specs.to_vec()).await?;
        let id = Id::generate().into_string();
        let (format, width, height) = (processed.format, processed.width, processed.height);
        let placeholder = (!processed.variants.is_empty()).then(|| Placeholder {
            blurhash: processed.placeholder.blurhash.clone(),
            dominant_color: processed.placeholder.dominant_color.clone(),
        });
        self.blobs.put(&original_key(&id), bytes.to_vec()).await?;
        let variants = self.store_variants(&id, processed).await?;
        let media = Media {
            owner_id: owner.to_owned(),
            product_id,
            format: format.extension().to_owned(),
            width,
            height,
            bytes: bytes.len() as u64,
            sha256,
            variants,
            placeholder,
            created_at: common::time::now(),
        };
        match self.save(&id, &hash_key, &media).await {
            Ok(()) => Ok(MediaView::new(&id, &media)),
            // The same bytes were stored meanwhile by a concurrent upload.
            Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
                self.delete_blobs(&id, &media).await;
                self.existing(&hash_key)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("duplicate upload vanished").into())
            }
            Err(e) => {
                self.delete_blobs(&id, &media).await;
                Err(e.into())
            }
        }
    }

    /// The record, its hash link and its event, together.
    async fn save(&self, id: &str, hash_key: &str, media: &Media) -> Result<(), StoreError> {
        self.store
            .transact(async |tx: &mut Txn| {
                tx.create(
                    hash_key,
                    &ByHash {
                        media_id: id.to_owned(),
                    },
                )?;
                tx.create(id, media)?;
                self.publisher.emit(
                    tx,
                    id,
                    &MediaUploaded {
                        media_id: id.to_owned(),
                        owner_id: media.owner_id.clone(),
                        sha256: media.sha256.clone(),
                        product_id: media.product_id.clone().unwrap_or_default(),
                        width: media.width,
                        height: media.height,
                    },
                )?;
                Ok(())
            })
            .await
    }

    /// The item an owner already uploaded with these bytes.
    async fn existing(&self, hash_key: &str) -> Result<Option<MediaView>, MediaError> {
        let Some(link) = self.hashes.get(hash_key).await? else {
            return Ok(None);
        };
        Ok(self
            .media
            .get(&link.value.media_id)
            .await?
            .map(|m| MediaView::new(&m.id, &m.value)))
    }
}
