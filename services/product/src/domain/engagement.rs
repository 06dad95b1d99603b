//! Engagement: views (counted in memory on detail reads and written in
//! batches by a background task, never a write per view), likes (one per
//! user, undoable) and shares, each announced to analytics. The counters
//! live apart from the product so that a view does not change its version.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use common::identity::Caller;
use events::v1::EngagementRecorded;
use serde::{Deserialize, Serialize};
use store::{Entity, Txn};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::domain::products::Product;
use crate::domain::products::catalogue::live;
use crate::error::ProductError;
use crate::state::AppState;

/// Counters of a product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Engagement {
    pub views: u64,
    pub likes: u64,
    pub shares: u64,
}

impl Entity for Engagement {
    const COLLECTION: &'static str = "engagement";
}

/// One user's like of one product (`{product}:{user}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Like {
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Entity for Like {
    const COLLECTION: &'static str = "likes";
}

/// What happened to a product, as `engagement.recorded` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngagementKind {
    View,
    Like,
    Unlike,
    Share,
    /// Opened from a search's results (counted as a view as well).
    Click,
}

impl EngagementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngagementKind::View => "view",
            EngagementKind::Like => "like",
            EngagementKind::Unlike => "unlike",
            EngagementKind::Share => "share",
            EngagementKind::Click => "click",
        }
    }

    /// Add `count` of this kind to `e`.
    fn apply(self, e: &mut Engagement, count: u64) {
        match self {
            EngagementKind::View => e.views += count,
            EngagementKind::Like => e.likes += count,
            EngagementKind::Unlike => e.likes = e.likes.saturating_sub(count),
            EngagementKind::Share => e.shares += count,
            EngagementKind::Click => {}
        }
    }
}

/// Channels a product may be shared on.
pub const CHANNELS: &[&str] = &["whatsapp", "instagram", "facebook", "x", "email", "link"];

/// Views counted since the last flush, by product; and those opened from a
/// search's results, by product and search.
#[derive(Debug, Default)]
pub struct ViewCounts {
    views: Mutex<HashMap<String, u64>>,
    clicks: Mutex<HashMap<(String, String), u64>>,
}

/// The most (product, search) pairs kept between flushes: search ids come
/// from clients, so beyond it a view is counted without its search.
const MAX_CLICK_KEYS: usize = 10_000;

impl ViewCounts {
    /// Count `n` views of `product_id`, opened from the results of
    /// `search_id` (or from elsewhere: "").
    pub fn add(&self, product_id: &str, search_id: &str, n: u64) {
        if let Ok(mut views) = self.views.lock() {
            *views.entry(product_id.to_owned()).or_default() += n;
        }
        if !search_id.is_empty() {
            self.add_clicks(product_id, search_id, n);
        }
    }

    fn add_clicks(&self, product_id: &str, search_id: &str, n: u64) {
        if let Ok(mut clicks) = self.clicks.lock() {
            let key = (product_id.to_owned(), search_id.to_owned());
            if clicks.len() < MAX_CLICK_KEYS || clicks.contains_key(&key) {
                *clicks.entry(key).or_default() += n;
            }
        }
    }

    /// Everything counted so far, leaving nothing.
    fn take(&self) -> (HashMap<String, u64>, HashMap<(String, String), u64>) {
        let views = self
            .views
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        let clicks = self
            .clicks
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        (views, clicks)
    }
}

/// Who did it and where, as the event carries them (empty for views).
struct Actor<'a> {
    user: &'a str,
    channel: &'a str,
    search_id: &'a str,
}

const ANONYMOUS: Actor<'static> = Actor {
    user: "",
    channel: "",
    search_id: "",
};

/// Write the counted views every `every` until cancelled (and once more
/// then): each product's views as one count, and the views that came from
/// a search's results as clicks of that search besides; what fails to be
/// written is counted again for the next flush.
pub async fn flush_views(state: AppState, every: Duration, cancel: CancellationToken) {
    loop {
        let stop = tokio::select! {
            () = cancel.cancelled() => true,
            () = tokio::time::sleep(every) => false,
        };
        let (views, clicks) = state.views.take();
        for (id, count) in views {
            if let Err(e) = bump(&state, &id, EngagementKind::View, count, ANONYMOUS).await {
                tracing::warn!(product_id = id, error = %e, "views not saved");
                state.views.add(&id, "", count);
            }
        }
        for ((id, search_id), count) in clicks {
            let actor = Actor {
                search_id: &search_id,
                ..ANONYMOUS
            };
            if let Err(e) = bump(&state, &id, EngagementKind::Click, count, actor).await {
                tracing::warn!(product_id = id, error = %e, "search clicks not saved");
                state.views.add_clicks(&id, &search_id, count);
            }
        }
        if stop {
            break;
        }
    }
}

/// Add `count` to a counter and announce it, in one transaction.
async fn bump(
    state: &AppState,
    id: &str,
    kind: EngagementKind,
    count: u64,
    actor: Actor<'_>,
) -> Result<(), ProductError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            let Some(product) = tx.get::<Product>(id).await? else {
                return Ok(());
            };
            record(state, tx, &product.value, id, kind, count, &actor).await
        })
        .await
}

/// In `tx`: add `count` of `kind` to product `id`'s counters and announce it.
async fn record(
    state: &AppState,
    tx: &mut Txn,
    product: &Product,
    id: &str,
    kind: EngagementKind,
    count: u64,
    actor: &Actor<'_>,
) -> Result<(), ProductError> {
    if kind != EngagementKind::Click {
        // A click is one of the views, already counted.
        let mut e = tx
            .get::<Engagement>(id)
            .await?
            .map(|e| e.value)
            .unwrap_or_default();
        kind.apply(&mut e, count);
        tx.set(id, &e)?;
    }
    let event = EngagementRecorded {
        product_id: id.to_owned(),
        artisan_id: product.artisan_id.clone(),
        kind: kind.as_str().to_owned(),
        count,
        user_id: actor.user.to_owned(),
        channel: actor.channel.to_owned(),
        search_id: actor.search_id.to_owned(),
    };
    state.publisher.emit(tx, id, &event)?;
    Ok(())
}

/// Like (or, with `liked` false, unlike) product `id` as `caller`; asking
/// for what already is changes nothing. Returns the counters after.
pub async fn set_like(
    state: &AppState,
    caller: &Caller,
    id: &str,
    liked: bool,
) -> Result<Engagement, ProductError> {
    let product = live(state, id, caller).await?;
    let key = format!("{id}:{}", caller.uid);
    let actor = Actor {
        user: &caller.uid,
        ..ANONYMOUS
    };
    state
        .store
        .transact(async |tx: &mut Txn| {
            let existing = tx.get::<Like>(&key).await?;
            let kind = match (existing.is_some(), liked) {
                (false, true) => {
                    let like = Like {
                        at: common::time::now(),
                    };
                    tx.create(&key, &like)?;
                    EngagementKind::Like
                }
                (true, false) => {
                    tx.delete::<Like>(&key)?;
                    EngagementKind::Unlike
                }
                // Already as asked: nothing changes (idempotent).
                _ => return Ok(()),
            };
            record(state, tx, &product.value, id, kind, 1, &actor).await
        })
        .await?;
    counters(state, id).await
}

/// Record a share of product `id` by `caller` on `channel`.
pub async fn share(
    state: &AppState,
    caller: &Caller,
    id: &str,
    channel: &str,
) -> Result<(), ProductError> {
    if !CHANNELS.contains(&channel) {
        return Err(ProductError::invalid(
            "channel",
            "invalid",
            format!("expected one of {}", CHANNELS.join(", ")),
        ));
    }
    live(state, id, caller).await?;
    let actor = Actor {
        user: &caller.uid,
        channel,
        search_id: "",
    };
    bump(state, id, EngagementKind::Share, 1, actor).await
}

/// The stored counters of product `id`.
pub async fn counters(state: &AppState, id: &str) -> Result<Engagement, ProductError> {
    Ok(state
        .engagement
        .get(id)
        .await?
        .map(|e| e.value)
        .unwrap_or_default())
}

/// The stored counters of several products.
pub async fn counters_of(
    state: &AppState,
    ids: &[String],
) -> Result<HashMap<String, Engagement>, ProductError> {
    Ok(state
        .engagement
        .get_many(ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e.value))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_counts_but_search_ids_from_clients_are_bounded() {
        let counts = ViewCounts::default();
        for i in 0..MAX_CLICK_KEYS + 50 {
            counts.add("p1", &format!("s{i}"), 1);
        }
        counts.add("p1", "s0", 2);
        counts.add("p2", "", 1);
        let (views, clicks) = counts.take();
        assert_eq!(views["p1"], (MAX_CLICK_KEYS + 52) as u64);
        assert_eq!(views["p2"], 1);
        assert_eq!(clicks.len(), MAX_CLICK_KEYS);
        assert_eq!(clicks[&("p1".to_owned(), "s0".to_owned())], 3);
        assert!(counts.take().0.is_empty(), "taken");
    }
}
