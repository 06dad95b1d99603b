//! Checks of single-document semantics.

use serde_json::json;

use super::commit::put;
use super::{Widget, put_all, unique_collection, unique_id};
use crate::{Store, StoreError, Version};

fn widget(name: &str, count: i64) -> Widget {
    Widget {
        name: name.to_owned(),
        count,
    }
}

/// `create`, `get`, `set`, `update` with a version, `delete` and `get_many`
/// of a typed collection, with their errors.
pub async fn typed_crud(store: &Store) {
    let widgets = store.collection::<Widget>();
    let id = unique_id("w");
    assert!(
        widgets.get(&id).await.unwrap().is_none(),
        "a new id must not exist"
    );

    let created = widgets.create(&id, &widget("anvil", 1)).await.unwrap();
    assert_eq!(created.id, id);
    assert_eq!(created.value, widget("anvil", 1));
    assert_eq!(
        created.created_at, created.updated_at,
        "create sets both timestamps"
    );
    let got = widgets
        .get(&id)
        .await
        .unwrap()
        .expect("created widget is readable");
    assert_eq!(
        got.version, created.version,
        "get returns the version create returned"
    );
    assert_eq!(got.created_at, created.created_at);
    assert_eq!(got.value, created.value);

    let again = widgets.create(&id, &widget("other", 2)).await.unwrap_err();
    assert!(
        again.is_already_exists(),
        "create of an existing id: {again:?}"
    );

    let set = widgets.set(&id, &widget("anvil", 2)).await.unwrap();
    assert!(
        set.version > created.version,
        "set must move the version forward"
    );
    assert_eq!(set.created_at, created.created_at, "set keeps created_at");
    assert!(
        set.updated_at >= created.updated_at,
        "set moves updated_at forward"
    );

    let updated = widgets
        .update(&id, &widget("anvil", 3), set.version)
        .await
        .unwrap();
    assert!(updated.version > set.version);
    let got = widgets.get(&id).await.unwrap().unwrap();
    assert_eq!((got.version, got.value.count), (updated.version, 3));

    let stale = widgets
        .update(&id, &widget("stale", 9), set.version)
        .await
        .unwrap_err();
    assert!(
        stale.is_conflict(),
        "update with a stale version: {stale:?}"
    );
    assert_eq!(widgets.get(&id).await.unwrap().unwrap().value.count, 3);
    let missing = unique_id("missing");
    let err = widgets
        .update(&missing, &widget("x", 0), Version(1))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "update of a missing document: {err:?}");

    let err = widgets.delete(&id, Some(set.version)).await.unwrap_err();
    assert!(err.is_conflict(), "delete with a stale version: {err:?}");
    assert!(widgets.delete(&id, Some(updated.version)).await.unwrap());
    assert!(
        widgets.get(&id).await.unwrap().is_none(),
        "deleted widget is gone"
    );
    assert!(
        !widgets.delete(&id, None).await.unwrap(),
        "delete of a missing id is false"
    );
    let err = widgets
        .delete(&id, Some(updated.version))
        .await
        .unwrap_err();
    assert!(
        err.is_not_found(),
        "versioned delete of a missing id: {err:?}"
    );

    let recreated = widgets.set(&id, &widget("phoenix", 1)).await.unwrap();
    assert!(widgets.delete(&id, None).await.unwrap());
    assert_eq!(
        recreated.value.name, "phoenix",
        "set creates a missing document"
    );

    let (a, b) = (unique_id("a"), unique_id("b"));
    widgets.create(&a, &widget("a", 1)).await.unwrap();
    widgets.create(&b, &widget("b", 2)).await.unwrap();
    let many = widgets
        .get_many(&[b.clone(), unique_id("absent"), a.clone()])
        .await
        .unwrap();
    let names: Vec<&str> = many.iter().map(|w| w.value.name.as_str()).collect();
    assert_eq!(
        names,
        ["b", "a"],
        "get_many skips absent ids and keeps the order asked"
    );
    assert!(widgets.get_many(&[]).await.unwrap().is_empty());
}

/// Raw documents round-trip exactly; unknown collections read as empty;
/// bad collection names are `InvalidName`; an id no document can have
/// reads as absent (in and out of transactions) and is `InvalidName` to
/// write.
pub async fn raw_documents(store: &Store) {
    let backend = store.backend();
    let fresh = unique_collection("never_written");
    assert!(backend.get(&fresh, "x").await.unwrap().is_none());
    assert!(
        backend
            .get_many(&fresh, &["x".into()])
            .await
            .unwrap()
            .is_empty()
    );
    let page = backend.query(&fresh, &crate::Query::new()).await.unwrap();
    assert!(page.docs.is_empty() && page.next_cursor.is_none());

    let coll = unique_collection("raw");
    let data = json!({
        "text": "héllo \"quoted\" ✓",
        "int": -42,
        "big": 9_007_199_254_740_993_i64,
        "float": 1.5,
        "flag": true,
        "none": null,
        "list": [1, "two", {"three": 3}],
        "nested": {"a": {"b": [true, false]}},
    });
    put_all(store, &coll, &[("doc-1", data.clone())]).await;
    let doc = backend
        .get(&coll, "doc-1")
        .await
        .unwrap()
        .expect("written doc");
    assert_eq!(doc.data, data, "raw data must round-trip exactly");
    assert_eq!(doc.id, "doc-1");

    for bad in ["", "Bad Name", "a/b", "x;drop"] {
        let err = backend.get(bad, "x").await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName(_)),
            "collection {bad:?}: {err:?}"
        );
    }
    for bad in ["", "a/b"] {
        assert!(backend.get(&coll, bad).await.unwrap().is_none(), "{bad:?}");
        let many = backend
            .get_many(&coll, &[bad.to_owned(), "doc-1".to_owned()])
            .await
            .unwrap();
        assert_eq!(many.len(), 1, "{bad:?}");
        let read = store
            .transact(async |tx: &mut crate::Txn| tx.get_raw(&coll, bad).await)
            .await
            .unwrap();
        assert!(read.is_none(), "{bad:?}");
        let err = backend
            .commit(vec![put(&coll, bad, json!({}), None)])
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName(_)),
            "put id {bad:?}: {err:?}"
        );
    }
}
