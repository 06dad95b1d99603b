//! Writing, rebuilding, reopening and counting.

use std::time::Instant;

use tempfile::TempDir;

use super::{doc, open, request, search_ids, with_description};
use crate::search::tantivy_index::TantivyIndex;
use crate::search::{IndexStats, SearchDoc, SearchIndex};

#[tokio::test]
async fn upsert_makes_a_document_findable_and_remove_hides_it() {
    let (_dir, index) = open();
    index
        .upsert(doc("p1", "Banarasi silk saree"))
        .await
        .unwrap();
    index.upsert(doc("p2", "Terracotta horse")).await.unwrap();

    assert_eq!(search_ids(&index, &request("silk")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("SILK Saree")).await, ["p1"]);

    index.remove("p1").await.unwrap();
    assert!(search_ids(&index, &request("silk")).await.is_empty());
    index.remove("never-indexed").await.unwrap();
    assert_eq!(search_ids(&index, &request("horse")).await, ["p2"]);
}

#[tokio::test]
async fn upsert_replaces_the_document_with_the_same_id() {
    let (_dir, index) = open();
    index.upsert(doc("p1", "Brass lamp")).await.unwrap();
    index.upsert(doc("p1", "Copper lamp")).await.unwrap();

    assert!(search_ids(&index, &request("brass")).await.is_empty());
    assert_eq!(search_ids(&index, &request("copper")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("lamp")).await, ["p1"]);
    assert_eq!(index.stats().await.unwrap().docs, 1);
}

#[tokio::test]
async fn rebuild_replaces_every_document() {
    let (_dir, index) = open();
    index.upsert(doc("old", "Old lamp")).await.unwrap();
    let mut first = doc("dup", "First version");
    first.updated_at_us = 5;
    let mut second = doc("dup", "Second version");
    second.updated_at_us = 7;
    index
        .rebuild(vec![doc("new", "New lamp"), first, second])
        .await
        .unwrap();

    assert_eq!(search_ids(&index, &request("lamp")).await, ["new"]);
    assert!(search_ids(&index, &request("first")).await.is_empty());
    assert_eq!(search_ids(&index, &request("second")).await, ["dup"]);
    assert_eq!(
        index.stats().await.unwrap(),
        IndexStats {
            docs: 2,
            newest_update_us: 7
        }
    );

    index.rebuild(Vec::new()).await.unwrap();
    assert_eq!(index.stats().await.unwrap(), IndexStats::default());
}

#[tokio::test]
async fn reopening_the_directory_keeps_the_documents() {
    let dir = TempDir::new().unwrap();
    {
        let index = TantivyIndex::open(dir.path()).unwrap();
        index.upsert(doc("p1", "Silk saree")).await.unwrap();
    }
    let index = TantivyIndex::open(dir.path()).unwrap();
    assert_eq!(search_ids(&index, &request("saree")).await, ["p1"]);
    assert_eq!(index.stats().await.unwrap().docs, 1);
}

#[tokio::test]
async fn opening_creates_a_missing_directory_and_replaces_a_foreign_index() {
    let dir = TempDir::new().unwrap();
    let nested = dir.path().join("a/b/index");
    drop(TantivyIndex::open(&nested).unwrap());

    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    {
        let mut builder = tantivy::schema::Schema::builder();
        let body = builder.add_text_field("body", tantivy::schema::TEXT);
        let old = tantivy::Index::create_in_dir(&foreign, builder.build()).unwrap();
        let mut writer: tantivy::IndexWriter = old.writer(15_000_000).unwrap();
        writer.add_document(tantivy::doc!(body => "hello")).unwrap();
        writer.commit().unwrap();
    }
    let index = TantivyIndex::open(&foreign).unwrap();
    assert_eq!(index.stats().await.unwrap(), IndexStats::default());
    index.upsert(doc("p1", "Silk")).await.unwrap();
    assert_eq!(search_ids(&index, &request("silk")).await, ["p1"]);
}

#[tokio::test]
async fn a_second_open_of_a_directory_in_use_fails_cleanly() {
    let (dir, _index) = open();
    assert!(TantivyIndex::open(dir.path()).is_err());
}

#[tokio::test]
async fn stats_count_documents_and_the_newest_update() {
    let (_dir, index) = open();
    assert_eq!(index.stats().await.unwrap(), IndexStats::default());
    let mut a = doc("a", "A");
    a.updated_at_us = 1_700_000_000_000_000;
    let mut b = doc("b", "B");
    b.updated_at_us = 1_600_000_000_000_000;
    index.upsert(a).await.unwrap();
    index.upsert(b).await.unwrap();
    assert_eq!(
        index.stats().await.unwrap(),
        IndexStats {
            docs: 2,
            newest_update_us: 1_700_000_000_000_000
        }
    );
    index.remove("a").await.unwrap();
    assert_eq!(
        index.stats().await.unwrap(),
        IndexStats {
            docs: 1,
            newest_update_us: 1_600_000_000_000_000
        }
    );
}

/// Twenty thousand realistic documents index in one commit in seconds and
/// are searchable (timing printed, not asserted).
#[tokio::test]
async fn twenty_thousand_documents_index_quickly() {
    let (_dir, index) = open();
    let docs: Vec<SearchDoc> = (0..20_000)
        .map(|i| {
            let mut d = with_description(
                doc(
                    &format!("p{i}"),
                    &format!("Handwoven silk saree number {i}"),
                ),
                "en",
                "Woven by hand on a pit loom in Varanasi with pure mulberry silk and zari.",
            );
            d.description.insert(
                "hi".to_string(),
                "यह हाथ से बुनी हुई बनारसी रेशमी साड़ी है".to_string(),
            );
            d.materials = vec!["silk".to_string(), "zari".to_string()];
            d.created_at_us = i;
            d.updated_at_us = i;
            d
        })
        .collect();
    let started = Instant::now();
    index.rebuild(docs).await.unwrap();
    let indexed = started.elapsed();

    let started = Instant::now();
    let results = index.search(&request("बनारसी silk")).await.unwrap();
    let searched = started.elapsed();
    assert_eq!(results.total, 20_000);
    assert_eq!(results.hits.len(), 20);
    let stats = index.stats().await.unwrap();
    assert_eq!(stats.docs, 20_000);
    assert_eq!(stats.newest_update_us, 19_999);
    eprintln!("indexed 20000 documents in {indexed:?}; one search took {searched:?}");
}
