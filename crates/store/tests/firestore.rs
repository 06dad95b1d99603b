//! The store's conformance suite against Google's Firestore emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use store::{FirestoreSettings, FirestoreStore, Store};
use testkit::FirestoreEmulator;

/// A store under a root of its own in the emulator.
async fn store(emulator: &FirestoreEmulator) -> Store {
    let settings = FirestoreSettings {
        project: "craftchain-test".to_owned(),
        database: "(default)".to_owned(),
        root: format!("tests/{}", uuid::Uuid::new_v4()),
        emulator_host: Some(emulator.host().to_owned()),
        timeout: Duration::from_secs(30),
        required_indexes: None,
    };
    Store::new(Arc::new(FirestoreStore::connect(&settings).await.unwrap()))
}

#[tokio::test]
async fn conformance_on_the_firestore_emulator() {
    let Some(emulator) = FirestoreEmulator::start().await else {
        return;
    };
    let store = store(&emulator).await;
    store.ping().await.unwrap();
    store::conformance::run_all(&store).await;
}
