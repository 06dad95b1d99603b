//! Media records: what is stored of an upload, who may change it, and
//! what clients see.

use chrono::{DateTime, Utc};
use common::Caller;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::Entity;
use utoipa::ToSchema;

use crate::domain::pipeline::Encoded;
use crate::error::MediaError;

/// One derived image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    /// `thumb.webp`, `large.jpg`, … (the last path segment of its URL).
    pub name: String,
    /// `image/webp` or `image/jpeg`.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Strong ETag: SHA-256 of its bytes.
    pub sha256: String,
}

impl Variant {
    /// How an encoded variant is described: named `{spec}.{extension}`,
    /// with its type, size and hash.
    pub fn of(encoded: &Encoded) -> Self {
        Self {
            name: format!("{}.{}", encoded.variant, encoded.format.extension()),
            content_type: encoded.format.mime().to_owned(),
            width: encoded.width,
            height: encoded.height,
            bytes: encoded.bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&encoded.bytes)),
        }
    }
}

/// The tiny stand-in shown while an image loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Placeholder {
    pub blurhash: String,
    /// `#rrggbb`.
    pub dominant_color: String,
}

/// A stored upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub owner_id: String,
    pub product_id: Option<String>,
    /// Format of the original, sniffed from its bytes.
    pub format: String,
    /// Upright size of the original.
    pub width: u32,
    pub height: u32,
    /// Size of the original in bytes.
    pub bytes: u64,
    /// SHA-256 of the original's bytes (the provenance hash uses it).
    pub sha256: String,
    pub variants: Vec<Variant>,
    pub placeholder: Option<Placeholder>,
    pub created_at: DateTime<Utc>,
}

impl Entity for Media {
    const COLLECTION: &'static str = "media";
}

impl Media {
    /// Who may see this media item — the one rule behind every path that
    /// returns it or its bytes: its owner, admins and services always;
    /// everyone else once an active product uses it (`published`). Its
    /// original is never served to anyone.
    pub fn visible_to(&self, caller: Option<&Caller>, published: bool) -> bool {
        published
            || caller.is_some_and(|c| {
                c.uid == self.owner_id || c.is_admin() || c.is(common::identity::Role::Service)
            })
    }

    /// Only its owner re-optimises a media item.
    pub fn ensure_owner(&self, caller: &Caller) -> Result<(), MediaError> {
        if self.owner_id == caller.uid {
            Ok(())
        } else {
            Err(MediaError::Forbidden(
                "only the owner may re-optimise media",
            ))
        }
    }

    /// Its owner or an admin deletes a media item.
    pub fn ensure_owner_or_admin(&self, caller: &Caller) -> Result<(), MediaError> {
        if self.owner_id == caller.uid || caller.is_admin() {
            Ok(())
        } else {
            Err(MediaError::Forbidden(
                "only the owner or an admin may do this",
            ))
        }
    }

    /// The key of its owner-and-hash link ([`ByHash`]).
    pub fn hash_key(&self) -> String {
        hash_key(&self.owner_id, &self.sha256)
    }

    /// Every blob it has: the original and each variant.
    pub fn blob_keys(&self, id: &str) -> Vec<String> {
        std::iter::once(original_key(id))
            .chain(self.variants.iter().map(|v| variant_key(id, &v.name)))
            .collect()
    }
}

/// Owner and original hash → media id: the same owner uploading the same
/// bytes gets the existing media back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ByHash {
    pub media_id: String,
}

impl Entity for ByHash {
    const COLLECTION: &'static str = "media_by_hash";
}

/// The key of the [`ByHash`] link of `owner`'s upload of bytes hashing to `sha256`.
pub fn hash_key(owner: &str, sha256: &str) -> String {
    format!("{owner}:{sha256}")
}

/// How clients see a media item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MediaView {
    pub id: String,
    pub owner_id: String,
    pub product_id: Option<String>,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub sha256: String,
    pub variants: Vec<VariantView>,
    pub placeholder: Option<Placeholder>,
    pub created_at: DateTime<Utc>,
}

/// A variant with its URL.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VariantView {
    #[serde(flatten)]
    pub variant: Variant,
    /// Path of its bytes: `/media/{id}/content/{name}`.
    pub url: String,
}

impl MediaView {
    pub fn new(id: &str, m: &Media) -> Self {
        Self {
            id: id.to_owned(),
            owner_id: m.owner_id.clone(),
            product_id: m.product_id.clone(),
            format: m.format.clone(),
            width: m.width,
            height: m.height,
            bytes: m.bytes,
            sha256: m.sha256.clone(),
            variants: m
                .variants
                .iter()
                .map(|v| VariantView {
                    url: format!("/media/{id}/content/{}", v.name),
                    variant: v.clone(),
                })
                .collect(),
            placeholder: m.placeholder.clone(),
            created_at: m.created_at,
        }
    }
}

/// The blob key of a media item's original.
pub fn original_key(id: &str) -> String {
    format!("originals/{id}")
}

/// The blob key of one of its variants.
pub fn variant_key(id: &str, name: &str) -> String {
    format!("variants/{id}/{name}")
}
