//! The Cloud Storage backend against fake-gcs-server (Google's JSON and XML
//! APIs, in memory): the same uploads, serving and deletes as locally.

use http::StatusCode;
use media::config::BlobConfig;
use testkit::FakeGcs;

use crate::helpers::{TestApp, photo, sha256_hex};

#[tokio::test]
async fn uploads_serving_ranges_and_deletes_work_on_cloud_storage() {
    testkit::init_logs();
    let Some(gcs) = FakeGcs::start().await else {
        return;
    };
    gcs.create_bucket("craftchain-media").await;
    let settings = media::Settings {
        blobs: BlobConfig::Gcs {
            bucket: "craftchain-media".to_owned(),
            endpoint: Some(gcs.url().as_str().trim_end_matches('/').to_owned()),
            emulator: true,
        },
        ..media::Settings::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let item = app.upload_public_photo(photo()).await;
    assert_eq!(item.sha256, sha256_hex(photo()));

    // The original and six variants are objects in the bucket.
    let objects = gcs.objects("craftchain-media").await;
    assert_eq!(objects.len(), 7, "{objects:?}");
    assert!(objects.iter().all(|o| o.contains(&item.id)), "{objects:?}");

    // Served from the bucket, whole and by range.
    let whole = app.variant_bytes(&item.id, "medium.webp").await;
    assert!(whole.starts_with(b"RIFF"), "a WebP");
    let path = format!("/media/{}/content/medium.webp", item.id);
    let partial = app.get_with(&path, &[("range", "bytes=0-99")]).await;
    partial.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.bytes, whole.slice(0..100));

    // Deleted from the bucket too.
    app.delete(&format!("/media/{}", item.id), Some(&app.artisan()))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(gcs.objects("craftchain-media").await.is_empty());
    app.content(&item.id, "medium.webp")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
