//! Checks of [`Store::transact`]: read-your-writes, aborts, conflict retries.

use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::json;

use super::{Counter, unique_collection, unique_id};
use crate::{Precondition, Store, StoreError, Versioned};

/// Inside a transaction, reads see the transaction's own buffered writes.
pub async fn transaction_read_your_writes(store: &Store) {
    let id = unique_id("ryw");
    let raw = unique_collection("ryw_raw");
    let n = store
        .transact(async |tx| {
            assert!(
                tx.get::<Counter>(&id).await?.is_none(),
                "new id must be absent"
            );
            tx.create(&id, &Counter { n: 1 })?;
            let seen = tx.get::<Counter>(&id).await?.expect("reads its own create");
            assert_eq!(seen.value.n, 1);
            tx.update(&Versioned {
                value: Counter { n: 2 },
                ..seen
            })?;
            assert_eq!(tx.get::<Counter>(&id).await?.map(|c| c.value.n), Some(2));
            tx.set(&id, &Counter { n: 3 })?;
            let err = tx.create(&id, &Counter { n: 4 }).unwrap_err();
            assert!(
                err.is_already_exists(),
                "create over a buffered write: {err:?}"
            );

            tx.put_raw(&raw, "r1", json!({"x": 1}), Some(Precondition::Absent));
            let doc = tx
                .get_raw(&raw, "r1")
                .await?
                .expect("reads its own raw put");
            assert_eq!(doc.data, json!({"x": 1}));
            Ok::<_, StoreError>(tx.get::<Counter>(&id).await?.map(|c| c.value.n))
        })
        .await
        .unwrap();
    assert_eq!(n, Some(3));
    let counters = store.collection::<Counter>();
    assert_eq!(
        counters.get(&id).await.unwrap().unwrap().value.n,
        3,
        "committed"
    );
    assert!(store.backend().get(&raw, "r1").await.unwrap().is_some());

    store
        .transact(async |tx| {
            assert!(tx.get::<Counter>(&id).await?.is_some());
            tx.delete::<Counter>(&id)?;
            assert!(
                tx.get::<Counter>(&id).await?.is_none(),
                "reads its own delete"
            );
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    assert!(
        counters.get(&id).await.unwrap().is_none(),
        "delete committed"
    );

    // A raw put whose precondition already fails against what the transaction
    // saw fails the transaction, and writes nothing.
    let err = store
        .transact(async |tx| {
            tx.get_raw(&raw, "r1").await?;
            tx.put_raw(&raw, "r1", json!({"x": 2}), Some(Precondition::Absent));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap_err();
    assert!(
        err.is_already_exists(),
        "raw create over an existing doc: {err:?}"
    );
    let doc = store.backend().get(&raw, "r1").await.unwrap().unwrap();
    assert_eq!(doc.data, json!({"x": 1}));
}

/// An error returned by the closure aborts the transaction: nothing is written.
pub async fn transaction_error_aborts(store: &Store) {
    #[derive(Debug)]
    enum AppError {
        Store(StoreError),
        Rejected,
    }
    impl From<StoreError> for AppError {
        fn from(err: StoreError) -> Self {
            Self::Store(err)
        }
    }

    let id = unique_id("abort");
    let attempts = AtomicI64::new(0);
    let result: Result<(), AppError> = store
        .transact(async |tx| {
            attempts.fetch_add(1, Ordering::SeqCst);
            tx.set(&id, &Counter { n: 1 })?;
            Err(AppError::Rejected)
        })
        .await;
    assert!(matches!(result, Err(AppError::Rejected)), "{result:?}");
    assert_eq!(
        attempts.into_inner(),
        1,
        "an error from the closure is not retried"
    );
    let counters = store.collection::<Counter>();
    assert!(counters.get(&id).await.unwrap().is_none(), "aborted write");

    counters.create(&id, &Counter { n: 1 }).await.unwrap();
    let result: Result<(), AppError> = store
        .transact(async |tx| {
            tx.get::<Counter>(&id).await?;
            tx.create(&id, &Counter { n: 2 })?;
            Ok(())
        })
        .await;
    assert!(
        matches!(
            result,
            Err(AppError::Store(StoreError::AlreadyExists { .. }))
        ),
        "create of a document read as existing: {result:?}"
    );
}

/// A commit that conflicts with a write made after the transaction's reads
/// reruns the closure, which then sees the new state.
pub async fn transaction_conflict_retry(store: &Store) {
    let counters = store.collection::<Counter>();

    // A document read and written.
    let id = unique_id("retry");
    counters.create(&id, &Counter { n: 0 }).await.unwrap();
    let attempts = AtomicI64::new(0);
    let seen = store
        .transact(async |tx| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let counter = tx.get::<Counter>(&id).await?.expect("counter exists");
            if attempt == 1 {
                counters.set(&id, &Counter { n: 10 }).await?;
            }
            tx.set(
                &id,
                &Counter {
                    n: counter.value.n + 1,
                },
            )?;
            Ok::<_, StoreError>(counter.value.n)
        })
        .await
        .unwrap();
    assert_eq!(
        (attempts.into_inner(), seen),
        (2, 10),
        "retried once, after seeing the other write"
    );
    assert_eq!(counters.get(&id).await.unwrap().unwrap().value.n, 11);

    // A document only read (verified) while another is written.
    let (read, written) = (unique_id("read"), unique_id("written"));
    counters.create(&read, &Counter { n: 0 }).await.unwrap();
    let attempts = AtomicI64::new(0);
    store
        .transact(async |tx| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let source = tx.get::<Counter>(&read).await?.expect("source exists");
            if attempt == 1 {
                counters.set(&read, &Counter { n: 5 }).await?;
            }
            tx.set(&written, &source.value)?;
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        attempts.into_inner(),
        2,
        "a changed read-only document forces a retry"
    );
    assert_eq!(counters.get(&written).await.unwrap().unwrap().value.n, 5);

    // A document read as absent that appears meanwhile.
    let (absent, other) = (unique_id("absent"), unique_id("other"));
    let attempts = AtomicI64::new(0);
    let existed = store
        .transact(async |tx| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let found = tx.get::<Counter>(&absent).await?.is_some();
            if attempt == 1 {
                counters.create(&absent, &Counter { n: 1 }).await?;
            }
            tx.set(&other, &Counter { n: 1 })?;
            Ok::<_, StoreError>(found)
        })
        .await
        .unwrap();
    assert_eq!(
        (attempts.into_inner(), existed),
        (2, true),
        "a document that appeared forces a retry"
    );
}

/// A transaction that conflicts every time gives up after
/// [`MAX_ATTEMPTS`](crate::MAX_ATTEMPTS) attempts with
/// `Conflict`.
pub async fn transaction_retries_are_bounded(store: &Store) {
    let counters = store.collection::<Counter>();
    let id = unique_id("bounded");
    counters.create(&id, &Counter { n: 0 }).await.unwrap();
    let attempts = AtomicI64::new(0);
    let result = store
        .transact(async |tx| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let counter = tx.get::<Counter>(&id).await?.expect("counter exists");
            counters.set(&id, &Counter { n: -attempt }).await?;
            tx.update(&counter)?;
            Ok::<_, StoreError>(())
        })
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "{result:?}"
    );
    assert_eq!(
        attempts.into_inner(),
        i64::from(crate::MAX_ATTEMPTS),
        "attempts before giving up"
    );
}

/// Two tasks incrementing one counter 50 times each end at 100.
pub async fn concurrent_increments(store: &Store) {
    let id = unique_id("incr");
    store
        .collection::<Counter>()
        .create(&id, &Counter { n: 0 })
        .await
        .unwrap();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    store
                        .transact(async |tx| {
                            let mut counter = tx
                                .get::<Counter>(&id)
                                .await?
                                .ok_or_else(|| StoreError::not_found("counters", &id))?;
                            counter.value.n += 1;
                            tx.update(&counter)?;
                            Ok::<_, StoreError>(())
                        })
                        .await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("increment task").expect("increments");
    }
    let counter = store
        .collection::<Counter>()
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter.value.n, 100, "lost updates");
}
