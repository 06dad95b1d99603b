//! Snapshots of the search index's documents in blob storage (a Cloud
//! Storage bucket in production). Cloud Run starts every instance on an
//! empty disk: with a snapshot, a new instance builds its index from one
//! object and the products changed since, instead of reading the whole
//! catalogue from the store.
//!
//! The object is JSON lines: a [`SnapshotHeader`], then one document a line.
//! An instance that had to read the whole catalogue (no snapshot, or one
//! older than the configured age) writes a new one; the snapshot is a
//! cache, so any failure to read or write it only costs that full read.

use std::sync::Arc;

use blobs::BlobStore;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::search::SearchDoc;

/// The object's key.
pub const OBJECT: &str = "search/catalogue.jsonl";

/// The format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The first line of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotHeader {
    pub format: u32,
    /// Every change stamped up to this time is in the documents (a new
    /// instance catches up from here, looking back as the sync does).
    pub synced_to: DateTime<Utc>,
    pub written_at: DateTime<Utc>,
    /// How many documents follow (a shorter object is cut off).
    pub docs: usize,
}

/// A snapshot read back.
#[derive(Debug)]
pub struct Snapshot {
    pub header: SnapshotHeader,
    pub docs: Vec<SearchDoc>,
}

/// The snapshot's bytes.
pub fn encode(header: &SnapshotHeader, docs: &[SearchDoc]) -> serde_json::Result<Vec<u8>> {
    let mut out = serde_json::to_vec(header)?;
    out.push(b'\n');
    for doc in docs {
        serde_json::to_writer(&mut out, doc)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// A snapshot from its bytes; an error for anything else (another format,
/// a cut-off object, a line that is no document).
pub fn decode(bytes: &[u8]) -> anyhow::Result<Snapshot> {
    let mut lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    let header: SnapshotHeader =
        serde_json::from_slice(lines.next().ok_or_else(|| anyhow::anyhow!("empty"))?)?;
    anyhow::ensure!(
        header.format == FORMAT,
        "format {} (this build reads {FORMAT})",
        header.format
    );
    let docs = lines
        .map(serde_json::from_slice::<SearchDoc>)
        .collect::<Result<Vec<SearchDoc>, _>>()?;
    anyhow::ensure!(
        docs.len() == header.docs,
        "{} documents of {}",
        docs.len(),
        header.docs
    );
    Ok(Snapshot { header, docs })
}

/// Where snapshots are kept, and how old one may be to be used.
#[derive(Clone)]
pub struct Snapshots {
    blobs: BlobStore,
    max_age: chrono::Duration,
}

impl Snapshots {
    pub fn new(blobs: BlobStore, max_age: chrono::Duration) -> Arc<Self> {
        Arc::new(Self { blobs, max_age })
    }

    /// The snapshot, if one younger than the maximum age is stored.
    /// Decoding (a hundred megabytes for a large catalogue) runs off the
    /// async workers.
    pub async fn load(&self) -> anyhow::Result<Option<Snapshot>> {
        let bytes = match self.blobs.read(OBJECT).await {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let snapshot = tokio::task::spawn_blocking(move || decode(&bytes)).await??;
        let age = common::time::now() - snapshot.header.written_at;
        if age > self.max_age {
            tracing::info!(
                written_at = %snapshot.header.written_at,
                "the search snapshot is too old to use"
            );
            return Ok(None);
        }
        Ok(Some(snapshot))
    }

    /// The snapshot of `docs`, complete up to `synced_to`, encoded off the
    /// async workers; the documents are handed back.
    pub async fn encode(
        &self,
        synced_to: DateTime<Utc>,
        docs: Vec<SearchDoc>,
    ) -> anyhow::Result<(Vec<u8>, Vec<SearchDoc>)> {
        let header = SnapshotHeader {
            format: FORMAT,
            synced_to,
            written_at: common::time::now(),
            docs: docs.len(),
        };
        Ok(
            tokio::task::spawn_blocking(move || encode(&header, &docs).map(|b| (b, docs)))
                .await??,
        )
    }

    /// Store an encoded snapshot, replacing the last.
    pub async fn store(&self, bytes: Vec<u8>) -> anyhow::Result<()> {
        Ok(self.blobs.put(OBJECT, bytes).await?)
    }
}
