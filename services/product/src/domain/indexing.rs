//! Keeping the search index in step with the store. The catalogue indexes
//! what it writes at once (so a client finds its own change); a sync task catches
//! up with everything else that changed (event consumers, a crash between
//! the store commit and the index write) by following `updated_at`; at
//! start the index is rebuilt when it is missing or stale.
//!
//! Each instance keeps its own index. A change is stamped before its
//! transaction commits, so another instance's change can land after this
//! one's sync has passed its stamp: every pass looks back [`OVERLAP`]
//! again, and skips what it already indexed at the same stamp.

use std::collections::HashMap;
use std::time::Duration;

use store::{Direction, Op, Query, Versioned};
use tokio_util::sync::CancellationToken;

use crate::domain::products::{Product, ProductStatus};
use crate::search::SearchDoc;
use crate::state::AppState;

/// The index document of a product.
pub fn to_doc(id: &str, p: &Product) -> SearchDoc {
    SearchDoc {
        id: id.to_owned(),
        title: p.title.clone(),
        // The artisan's words, and machine translations where they wrote
        // none: searchable in every language the product has.
        description: p
            .ai
            .translations
            .iter()
            .chain(&p.description)
            .map(|(l, t)| (l.clone(), t.clone()))
            .collect(),
        materials: p.materials.clone(),
        category: p.category.clone(),
        subcategory: p.subcategory.clone(),
        craft_tradition: p.craft_tradition.clone().unwrap_or_default(),
        cultural_story: p.cultural_story.clone().unwrap_or_default(),
        region: p.region.clone().unwrap_or_default(),
        artisan_id: p.artisan_id.clone(),
        status: p.status.as_str().to_owned(),
        price: p.price.amount,
        currency: p.price.currency.to_string(),
        created_at_us: p.created_at.timestamp_micros(),
        updated_at_us: p.updated_at.timestamp_micros(),
    }
}

/// Index (or un-index) one product now; whether it worked (a failure is
/// left to the sync, which tries again on its next pass).
pub async fn index_now(state: &AppState, product: &Versioned<Product>) -> bool {
    let result = if product.value.status == ProductStatus::Deleted {
        state.search.remove(&product.id).await
    } else {
        state
            .search
            .upsert(to_doc(&product.id, &product.value))
            .await
    };
    if let Err(e) = &result {
        tracing::warn!(product_id = product.id, error = %e, "search index not updated; the sync will catch up");
    }
    result.is_ok()
}

/// Products read at a time (the store's largest page: fewest round trips).
const PAGE: usize = 1000;

/// Every product changed after `since`, oldest change first.
async fn changed_since(
    state: &AppState,
    since: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<Versioned<Product>>> {
    let mut out = Vec::new();
    each_change_since(state, since, |p| out.push(p)).await?;
    Ok(out)
}

/// Hands every product changed after `since` to `visit`, oldest change
/// first, a page at a time (no more than a page held here).
async fn each_change_since(
    state: &AppState,
    since: chrono::DateTime<chrono::Utc>,
    mut visit: impl FnMut(Versioned<Product>),
) -> anyhow::Result<()> {
    let mut cursor = None;
    loop {
        let q = Query::new()
            .filter("updated_at", Op::Gt, serde_json::to_value(since)?)
            .order_by("updated_at", Direction::Asc)
            .limit(PAGE)
            .after(cursor);
        let (items, next) = state.products.query(&q).await?;
        items.into_iter().for_each(&mut visit);
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(()),
        }
    }
}

/// Make the index current at start; answers the stamp the sync goes on
/// from. An empty index (a new instance) is built from the search
/// snapshot, when one is configured and recent, and the products changed
/// since. Otherwise the whole catalogue is read, the index rebuilt if its
/// count or newest change differs from the store, and, when snapshots are
/// configured, a new snapshot written.
pub async fn check_at_start(state: &AppState) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let stats = state.search.stats().await?;
    if stats.docs == 0
        && let Some(snapshots) = &state.snapshots
    {
        let started = std::time::Instant::now();
        match snapshots.load().await {
            Ok(Some(snapshot)) => {
                let docs = snapshot.docs.len();
                state.search.rebuild(snapshot.docs).await?;
                let since = catch_up(state, snapshot.header.synced_to).await?;
                tracing::info!(
                    docs,
                    ms = started.elapsed().as_millis(),
                    "search index built from its snapshot and the changes since"
                );
                return Ok(since);
            }
            Ok(None) => tracing::info!("no recent search snapshot; reading the catalogue"),
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "the search snapshot is unreadable; reading the catalogue"
            ),
        }
    }
    let started = std::time::Instant::now();
    // Only the index documents of the live products are kept, not the
    // products: a large catalogue is read in bounded memory.
    let mut live = Vec::new();
    let mut products = 0_usize;
    let mut newest = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    each_change_since(state, newest, |p| {
        products += 1;
        newest = newest.max(p.value.updated_at);
        if p.value.status != ProductStatus::Deleted {
            live.push(to_doc(&p.id, &p.value));
        }
    })
    .await?;
    tracing::info!(
        products,
        ms = started.elapsed().as_millis(),
        "catalogue read"
    );
    let snapshot = match &state.snapshots {
        Some(snapshots) => {
            // An empty catalogue's stamp is the epoch, not chrono's minimum.
            let synced_to = newest.max(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
            let (bytes, docs) = snapshots.encode(synced_to, live).await?;
            live = docs;
            Some((snapshots.clone(), bytes))
        }
        None => None,
    };
    let newest_live = live.iter().map(|d| d.updated_at_us).max().unwrap_or(0);
    if stats.docs != live.len() as u64 || stats.newest_update_us != newest_live {
        tracing::info!(
            indexed = stats.docs,
            products = live.len(),
            "search index is stale; rebuilding"
        );
        let started = std::time::Instant::now();
        state.search.rebuild(live).await?;
        tracing::info!(ms = started.elapsed().as_millis(), "search index rebuilt");
    }
    // Written while the service starts serving: a cache, not a duty.
    if let Some((snapshots, bytes)) = snapshot {
        tokio::spawn(async move {
            match snapshots.store(bytes).await {
                Ok(()) => tracing::info!("search snapshot written"),
                Err(e) => tracing::warn!(
                    error = format!("{e:#}"),
                    "the search snapshot was not written"
                ),
            }
        });
    }
    Ok(newest)
}

/// Index every product changed since `synced_to` (looking back
/// [`OVERLAP`]); answers the newest stamp indexed. A product that cannot
/// be indexed stops the catch-up there: the sync goes on from before it
/// and tries again.
async fn catch_up(
    state: &AppState,
    synced_to: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let from = synced_to.checked_sub_signed(OVERLAP).unwrap_or(synced_to);
    let mut since = synced_to;
    for product in changed_since(state, from).await? {
        if !index_now(state, &product).await {
            break;
        }
        since = since.max(product.value.updated_at);
    }
    // A snapshot stamped ahead of this clock must not make the sync skip
    // what is stamped before it.
    Ok(since.min(common::time::now()))
}

/// How far back each sync pass looks again: longer than a change's
/// transaction can take between its stamp and its commit (a request's
/// timeout), with the instances' clocks kept in step by their platform.
pub const OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Follow the store's changes into the index until cancelled.
pub async fn sync(
    state: AppState,
    mut since: chrono::DateTime<chrono::Utc>,
    every: Duration,
    cancel: CancellationToken,
) {
    // What the passes indexed within the overlap, and at which stamp.
    let mut recent: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
        let from = since.checked_sub_signed(OVERLAP).unwrap_or(since);
        match changed_since(&state, from).await {
            Ok(changed) => {
                for p in &changed {
                    if recent.get(&p.id) == Some(&p.value.updated_at) {
                        continue;
                    }
                    if !index_now(&state, p).await {
                        // Not marked done, and `since` stops short of it:
                        // the next pass tries again.
                        break;
                    }
                    recent.insert(p.id.clone(), p.value.updated_at);
                    since = since.max(p.value.updated_at);
                }
                let from = since.checked_sub_signed(OVERLAP).unwrap_or(since);
                recent.retain(|_, stamp| *stamp > from);
            }
            Err(e) => tracing::warn!(error = %e, "search sync failed"),
        }
    }
}
