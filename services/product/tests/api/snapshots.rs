//! Search snapshots: a new instance (an empty index, as Cloud Run starts
//! each) builds its index from the snapshot in blob storage and the
//! products changed since, and one that found no recent snapshot reads
//! the catalogue and writes one.

use std::path::PathBuf;
use std::time::Duration;

use product::domain::indexing::to_doc;
use product::domain::products::Product;
use product::domain::snapshots::{self, FORMAT, SnapshotHeader};
use product::routes::search::SearchPage;
use serde_json::json;
use testkit::TestService;

use crate::helpers::TestApp;

/// An in-process product service keeping its snapshots under `root`.
async fn app(root: PathBuf) -> TestApp {
    TestApp::start_with(TestService::builder(product::NAME), move |settings| {
        settings.search_snapshots = Some(blobs::BlobConfig::Local {
            root: Some(root.clone()),
        });
    })
    .await
}

async fn found(app: &TestApp, text: &str) -> Vec<String> {
    let response = app.search(&json!({ "query": text })).await;
    response.assert_status(http::StatusCode::OK);
    let page: SearchPage = response.json();
    page.items.into_iter().map(|h| h.product.id).collect()
}

fn snapshot_path(root: &std::path::Path) -> PathBuf {
    root.join(snapshots::OBJECT)
}

/// The index document of the stored product `id`.
async fn index_doc(app: &TestApp, id: &str) -> product::search::SearchDoc {
    let stored = app.store().collection::<Product>().get(id).await.unwrap();
    to_doc(id, &stored.expect("the product is stored").value)
}

/// The snapshot under `root`, once it has been written.
async fn written(root: &std::path::Path) -> snapshots::Snapshot {
    let path = snapshot_path(root);
    testkit::eventually(Duration::from_secs(10), "a snapshot written", || async {
        std::fs::read(&path)
            .ok()
            .and_then(|bytes| snapshots::decode(&bytes).ok())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_new_instance_builds_its_index_from_the_snapshot_and_the_changes_since() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let app = app(root.clone()).await;
    // The first start read the (empty) catalogue and wrote a snapshot.
    assert_eq!(written(&root).await.docs, Vec::new());
    let stole = app
        .create_product(&app.artisan(), json!({"title": "Marigold stole"}))
        .await;

    // A product changed after the snapshot is caught up with at start.
    let app = app.restart_as_new_instance().await;
    assert_eq!(found(&app, "marigold").await, [stole.id.as_str()]);

    // What the index holds comes from the snapshot: one that says the
    // stole is a zardozi peacock, complete up to an hour from now (so no
    // change is caught up with), is what the new instance finds by.
    let mut doc = index_doc(&app, &stole.id).await;
    doc.title = "Zardozi peacock".to_owned();
    let header = SnapshotHeader {
        format: FORMAT,
        synced_to: chrono::Utc::now() + chrono::Duration::hours(1),
        written_at: chrono::Utc::now(),
        docs: 1,
    };
    std::fs::write(
        snapshot_path(&root),
        snapshots::encode(&header, &[doc]).unwrap(),
    )
    .unwrap();
    let app = app.restart_as_new_instance().await;
    assert_eq!(found(&app, "zardozi").await, [stole.id.as_str()]);
    assert!(found(&app, "marigold").await.is_empty());

    // Too old a snapshot is passed over: the catalogue is read, and a new
    // snapshot written from it.
    let stale = SnapshotHeader {
        written_at: chrono::Utc::now() - chrono::Duration::days(2),
        ..header
    };
    let bytes = std::fs::read(snapshot_path(&root)).unwrap();
    let old = snapshots::decode(&bytes).unwrap();
    std::fs::write(
        snapshot_path(&root),
        snapshots::encode(&stale, &old.docs).unwrap(),
    )
    .unwrap();
    let app = app.restart_as_new_instance().await;
    assert_eq!(found(&app, "marigold").await, [stole.id.as_str()]);
    assert!(found(&app, "zardozi").await.is_empty());
    testkit::eventually(Duration::from_secs(10), "a fresh snapshot", || async {
        let bytes = std::fs::read(snapshot_path(&root)).ok()?;
        let snapshot = snapshots::decode(&bytes).ok()?;
        (snapshot.docs.len() == 1 && snapshot.docs[0].title == "Marigold stole").then_some(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_unreadable_snapshot_costs_only_a_read_of_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let app = app(root.clone()).await;
    written(&root).await;
    let bowl = app
        .create_product(&app.artisan(), json!({"title": "Blue pottery bowl"}))
        .await;
    // Cut off: the header promises two documents, one follows.
    let bytes = std::fs::read(snapshot_path(&root)).unwrap();
    let mut snapshot = snapshots::decode(&bytes).unwrap();
    snapshot.header.docs = 2;
    let cut = snapshots::encode(&snapshot.header, &[index_doc(&app, &bowl.id).await]).unwrap();
    std::fs::write(snapshot_path(&root), cut).unwrap();

    let app = app.restart_as_new_instance().await;
    assert_eq!(found(&app, "pottery").await, [bowl.id.as_str()]);
    assert_eq!(written(&root).await.docs.len(), 1, "written afresh");
}
