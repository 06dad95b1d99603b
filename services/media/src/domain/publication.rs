//! Which media the public may see: media used by an active product. The
//! media service learns it from the product service's events (each carries
//! the product's status and its media after the change), keeping per
//! product the media it publishes and per media item the products that
//! publish it; [`Media::visible_to`](super::Media::visible_to) reads the
//! latter.

use std::collections::BTreeSet;

use async_trait::async_trait;
use events::v1::{ProductCreated, ProductDeleted, ProductUpdated};
use events::{ConsumeError, Consumer, Event as _, Received};
use serde::{Deserialize, Serialize};
use store::{Entity, Txn};

/// The most media one product event may name: the product service allows
/// fewer (`MAX_MEDIA` there), so more means a malformed event.
pub const MAX_MEDIA_PER_PRODUCT: usize = 20;

/// The media product `id` publishes now (none unless it is active), as of
/// its latest event applied.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Publication {
    pub media_ids: BTreeSet<String>,
    /// When the event it reflects happened (µs since the epoch): an older
    /// event arriving late (another topic, a redelivery) changes nothing.
    #[serde(default)]
    pub as_of: i64,
}

impl Entity for Publication {
    const COLLECTION: &'static str = "publications";
}

/// The products publishing media item `id` (kept beside the media record,
/// which events never rewrite).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublishedBy {
    pub product_ids: BTreeSet<String>,
}

impl Entity for PublishedBy {
    const COLLECTION: &'static str = "media_published_by";
}

/// Applies product events to the publications.
pub struct Publications;

impl Publications {
    /// Product `product_id` now publishes `media` (empty when it is not
    /// active): the media it dropped lose it, the new ones gain it.
    async fn set(
        tx: &mut Txn,
        product_id: &str,
        media: BTreeSet<String>,
        as_of: i64,
    ) -> Result<(), ConsumeError> {
        if media.len() > MAX_MEDIA_PER_PRODUCT {
            return Err(ConsumeError::Invalid(format!(
                "a product names at most {MAX_MEDIA_PER_PRODUCT} media"
            )));
        }
        let before = tx.get::<Publication>(product_id).await?.map(|p| p.value);
        if before.as_ref().is_some_and(|b| b.as_of > as_of) {
            return Ok(());
        }
        let before = before.map(|b| b.media_ids).unwrap_or_default();
        for gone in before.difference(&media) {
            if let Some(mut by) = tx.get::<PublishedBy>(gone).await? {
                by.value.product_ids.remove(product_id);
                if by.value.product_ids.is_empty() {
                    tx.delete::<PublishedBy>(gone)?;
                } else {
                    tx.update(&by)?;
                }
            }
        }
        for new in media.difference(&before) {
            let mut by = tx
                .get::<PublishedBy>(new)
                .await?
                .map(|v| v.value)
                .unwrap_or_default();
            by.product_ids.insert(product_id.to_owned());
            tx.set(new, &by)?;
        }
        tx.set(
            product_id,
            &Publication {
                media_ids: media,
                as_of,
            },
        )?;
        Ok(())
    }
}

/// The media of a product in `status`: all of them when it is active.
fn published(status: &str, media_ids: Vec<String>) -> BTreeSet<String> {
    // Events from before `status` was carried on product.created say "".
    if status == "active" || status.is_empty() {
        media_ids.into_iter().collect()
    } else {
        BTreeSet::new()
    }
}

#[async_trait]
impl Consumer for Publications {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        let at = event.occurred_at_micros();
        match event.event_type() {
            t if t == ProductCreated::TYPE => {
                let e = event.decode::<ProductCreated>()?;
                Self::set(tx, &e.product_id, published(&e.status, e.media_ids), at).await
            }
            t if t == ProductUpdated::TYPE => {
                let e = event.decode::<ProductUpdated>()?;
                if e.status != "active" && e.status != "paused" && e.status != "deleted" {
                    return Err(ConsumeError::Invalid(format!(
                        "unknown product status {:?}",
                        e.status
                    )));
                }
                Self::set(tx, &e.product_id, published(&e.status, e.media_ids), at).await
            }
            t if t == ProductDeleted::TYPE => {
                let e = event.decode::<ProductDeleted>()?;
                Self::set(tx, &e.product_id, BTreeSet::new(), at).await
            }
            _ => Ok(()),
        }
    }
}
