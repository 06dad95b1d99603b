//! Uploads stream through the gateway without being held in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::helpers::{TestApp, resident_bytes, streamed_body};

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mib_upload_streams_through_in_bounded_memory() {
    // Alone: the gateway runs in this process, so its resident memory is
    // the gateway's (plus the client's and the upstream's) only while no
    // other test runs.
    let app = TestApp::spawn_alone(|_| {}).await;
    let token = app.token("artisan-1");
    let warm_up = app
        .client
        .post(app.url("/media/upload"))
        .bearer_auth(&token)
        .body(streamed_body(64 * 1024, 16))
        .send()
        .await
        .unwrap();
    assert_eq!(warm_up.status(), 200);
    app.upstream.clear();

    let before = resident_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (peak, done) = (peak.clone(), done.clone());
        async move {
            while !done.load(Ordering::SeqCst) {
                peak.fetch_max(resident_bytes(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });

    // 800 chunks of 64 KiB, made as they are sent, no Content-Length.
    let response = app
        .client
        .post(app.url("/media/upload"))
        .bearer_auth(&token)
        .body(streamed_body(64 * 1024, 800))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap();
    done.store(true, Ordering::SeqCst);
    sampler.await.unwrap();
    let peak = peak.load(Ordering::SeqCst).max(resident_bytes());

    assert_eq!(status, 200);
    assert_eq!(answer["bytes"], 50 * MIB);
    let seen = app.upstream.single();
    assert_eq!(seen.path(), "/media/upload");
    assert_eq!(seen.body_len(), 50 * MIB);
    assert!(seen.body_complete());
    let growth = peak.saturating_sub(before);
    assert!(
        growth < 30 * MIB,
        "resident memory grew by {} MiB while 50 MiB passed",
        growth / MIB
    );
}
