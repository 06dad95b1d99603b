//! The store's conformance suite against Google's Firestore emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use testkit::FirestoreEmulator;

#[tokio::test]
async fn conformance_on_the_firestore_emulator() {
    let Some(emulator) = FirestoreEmulator::start().await else {
        return;
    };
    let store = emulator.store().await;
    store.ping().await.unwrap();
    store::conformance::run_all(&store).await;
}
