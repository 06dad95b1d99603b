//! Checks of atomic commits and their preconditions.

use serde_json::{Value, json};

use super::{put_all, unique_collection, unique_id};
use crate::{Precondition, Store, Version, Write};

pub(super) fn put(
    collection: &str,
    id: &str,
    data: Value,
    precondition: Option<Precondition>,
) -> Write {
    Write::Put {
        collection: collection.to_owned(),
        id: id.to_owned(),
        data,
        precondition,
    }
}

fn delete(collection: &str, id: &str, precondition: Option<Precondition>) -> Write {
    Write::Delete {
        collection: collection.to_owned(),
        id: id.to_owned(),
        precondition,
    }
}

fn verify(collection: &str, id: &str, precondition: Precondition) -> Write {
    Write::Verify {
        collection: collection.to_owned(),
        id: id.to_owned(),
        precondition,
    }
}

async fn version_of(store: &Store, collection: &str, id: &str) -> Option<Version> {
    let doc = store.backend().get(collection, id).await.unwrap();
    doc.map(|doc| doc.version)
}

/// Every precondition of `commit`, its error, and the returned versions.
pub async fn commit_preconditions(store: &Store) {
    let backend = store.backend();
    let coll = unique_collection("pre");
    let versions = backend
        .commit(vec![
            put(&coll, "a", json!({"v": 1}), Some(Precondition::Absent)),
            delete(&coll, "never", None),
            put(&coll, "b", json!({"v": 1}), None),
        ])
        .await
        .unwrap();
    assert_eq!(versions.len(), 2, "commit returns one version per put");
    assert_eq!(Some(versions[0]), version_of(store, &coll, "a").await);
    assert_eq!(Some(versions[1]), version_of(store, &coll, "b").await);
    let v_a = versions[0];

    let cases = [
        (
            put(&coll, "a", json!({}), Some(Precondition::Absent)),
            "already exists",
        ),
        (
            put(&coll, "zz", json!({}), Some(Precondition::Exists)),
            "not found",
        ),
        (
            put(&coll, "zz", json!({}), Some(Precondition::Version(v_a))),
            "not found",
        ),
        (
            put(
                &coll,
                "a",
                json!({}),
                Some(Precondition::Version(Version(v_a.0 + 100))),
            ),
            "conflict",
        ),
        (delete(&coll, "zz", Some(Precondition::Exists)), "not found"),
        (
            delete(&coll, "a", Some(Precondition::Absent)),
            "already exists",
        ),
        (
            delete(
                &coll,
                "a",
                Some(Precondition::Version(Version(v_a.0 + 100))),
            ),
            "conflict",
        ),
    ];
    for (write, expected) in cases {
        let err = backend.commit(vec![write.clone()]).await.unwrap_err();
        let ok = match expected {
            "already exists" => err.is_already_exists(),
            "not found" => err.is_not_found(),
            _ => err.is_conflict(),
        };
        assert!(ok, "{write:?} must fail with {expected}, got {err:?}");
    }
    assert_eq!(
        version_of(store, &coll, "a").await,
        Some(v_a),
        "failed commits change nothing"
    );

    let v2 = backend
        .commit(vec![put(
            &coll,
            "a",
            json!({"v": 2}),
            Some(Precondition::Version(v_a)),
        )])
        .await
        .unwrap();
    assert!(v2[0] > v_a);
    backend
        .commit(vec![put(
            &coll,
            "a",
            json!({"v": 3}),
            Some(Precondition::Exists),
        )])
        .await
        .unwrap();
    backend
        .commit(vec![delete(&coll, "a", Some(Precondition::Exists))])
        .await
        .unwrap();
    assert_eq!(version_of(store, &coll, "a").await, None);
}

/// A batch of three writes whose last precondition fails writes nothing.
pub async fn commit_is_atomic(store: &Store) {
    let backend = store.backend();
    let coll = unique_collection("atomic");
    put_all(store, &coll, &[("c", json!({"v": "original"}))]).await;
    let v_c = version_of(store, &coll, "c").await.unwrap();

    let stale = Precondition::Version(Version(v_c.0 + 1));
    for failing in [
        put(&coll, "c", json!({"v": "changed"}), Some(stale)),
        put(
            &coll,
            "c",
            json!({"v": "changed"}),
            Some(Precondition::Absent),
        ),
        delete(&coll, "c", Some(stale)),
        verify(&coll, "missing", Precondition::Exists),
    ] {
        let err = backend
            .commit(vec![
                put(&coll, "a", json!({"v": 1}), Some(Precondition::Absent)),
                put(&coll, "b", json!({"v": 1}), None),
                failing.clone(),
            ])
            .await
            .unwrap_err();
        assert!(err.is_precondition_failure(), "{failing:?}: {err:?}");
        assert_eq!(
            version_of(store, &coll, "a").await,
            None,
            "after {failing:?}: a written"
        );
        assert_eq!(
            version_of(store, &coll, "b").await,
            None,
            "after {failing:?}: b written"
        );
        let c = backend.get(&coll, "c").await.unwrap().unwrap();
        assert_eq!(
            (c.version, &c.data),
            (v_c, &json!({"v": "original"})),
            "c changed"
        );
    }
}

/// `Verify` writes nothing but fails the commit unless its precondition holds.
pub async fn verify_preconditions(store: &Store) {
    let backend = store.backend();
    let coll = unique_collection("verify");
    put_all(store, &coll, &[("x", json!({"v": 1}))]).await;
    let v_x = version_of(store, &coll, "x").await.unwrap();

    for (precondition, id) in [
        (Precondition::Version(v_x), "x"),
        (Precondition::Exists, "x"),
        (Precondition::Absent, "missing"),
    ] {
        backend
            .commit(vec![
                verify(&coll, id, precondition),
                put(&coll, "y", json!({}), None),
            ])
            .await
            .unwrap_or_else(|err| panic!("verify {precondition:?} of {id}: {err:?}"));
    }
    assert_eq!(
        version_of(store, &coll, "x").await,
        Some(v_x),
        "verify must not write"
    );

    let target = unique_id("target");
    for (precondition, id, expected) in [
        (Precondition::Version(Version(v_x.0 + 7)), "x", "conflict"),
        (Precondition::Absent, "x", "already exists"),
        (Precondition::Exists, "missing", "not found"),
        (Precondition::Version(v_x), "missing", "not found"),
    ] {
        let err = backend
            .commit(vec![
                put(&coll, &target, json!({}), None),
                verify(&coll, id, precondition),
            ])
            .await
            .unwrap_err();
        let ok = match expected {
            "already exists" => err.is_already_exists(),
            "not found" => err.is_not_found(),
            _ => err.is_conflict(),
        };
        assert!(
            ok,
            "verify {precondition:?} of {id} must fail with {expected}: {err:?}"
        );
        assert_eq!(
            version_of(store, &coll, &target).await,
            None,
            "nothing written"
        );
    }
}
