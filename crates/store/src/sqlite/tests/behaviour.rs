//! Backend behaviour beyond the conformance suite: versions, batches,
//! SQLite value semantics, typed access and the transaction API's shape.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{fresh, fresh_store};
use crate::{Direction, DocumentStore, Entity, Op, Precondition, Query, Store, StoreError};
use crate::{Version, Write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    visits: u32,
}

impl Entity for User {
    const COLLECTION: &'static str = "users";
}

fn put(id: &str, data: serde_json::Value, precondition: Option<Precondition>) -> Write {
    Write::Put {
        collection: "docs".into(),
        id: id.into(),
        data,
        precondition,
    }
}

#[tokio::test]
async fn versions_count_writes_and_timestamps_are_microsecond_utc() {
    let (_dir, store) = fresh();
    let v = store
        .commit(vec![put("a", json!({"n": 1}), None)])
        .await
        .unwrap();
    assert_eq!(v, [Version(1)]);
    let first = store.get("docs", "a").await.unwrap().unwrap();
    let v = store
        .commit(vec![put("a", json!({"n": 2}), None)])
        .await
        .unwrap();
    assert_eq!(v, [Version(2)]);
    let second = store.get("docs", "a").await.unwrap().unwrap();
    assert_eq!(
        second.created_at, first.created_at,
        "created_at survives puts"
    );
    assert!(second.updated_at >= first.updated_at);
    assert_eq!(
        second.updated_at.timestamp_subsec_nanos() % 1000,
        0,
        "microseconds"
    );
}

#[tokio::test]
async fn multiple_writes_to_one_document_apply_in_order() {
    let (_dir, store) = fresh();
    let versions = store
        .commit(vec![
            put("a", json!({"n": 1}), Some(Precondition::Absent)),
            put(
                "a",
                json!({"n": 2}),
                Some(Precondition::Version(Version(1))),
            ),
            put("a", json!({"n": 3}), Some(Precondition::Exists)),
        ])
        .await
        .unwrap();
    assert_eq!(versions, [Version(1), Version(2), Version(3)]);
    assert_eq!(
        store.get("docs", "a").await.unwrap().unwrap().data,
        json!({"n": 3})
    );

    store
        .commit(vec![
            Write::Delete {
                collection: "docs".into(),
                id: "a".into(),
                precondition: Some(Precondition::Version(Version(3))),
            },
            put("a", json!({"n": 4}), Some(Precondition::Absent)),
        ])
        .await
        .unwrap();
    let doc = store.get("docs", "a").await.unwrap().unwrap();
    assert_eq!(
        (doc.version, doc.data),
        (Version(1), json!({"n": 4})),
        "deleted then recreated"
    );
}

#[tokio::test]
async fn get_many_spans_chunks_and_keeps_request_order() {
    let (_dir, store) = fresh();
    let writes = (0..1200)
        .step_by(2)
        .map(|i| put(&format!("d{i}"), json!({"i": i}), None))
        .collect();
    store.commit(writes).await.unwrap();
    let ids: Vec<String> = (0..1200).rev().map(|i| format!("d{i}")).collect();
    let docs = store.get_many("docs", &ids).await.unwrap();
    assert_eq!(docs.len(), 600);
    let got: Vec<i64> = docs.iter().map(|d| d.data["i"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (0..1200).rev().filter(|i| i % 2 == 0).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn sqlite_value_semantics() {
    let (_dir, store) = fresh();
    store
        .commit(vec![
            put("a", json!({"x": 1, "tags": ["t", null]}), None),
            put("b", json!({"x": 1.0, "tags": "t"}), None),
            put("c", json!({"x": null}), None),
            put("d", json!({}), None),
        ])
        .await
        .unwrap();
    let ids = async |q: Query| -> Vec<String> {
        store
            .query("docs", &q)
            .await
            .unwrap()
            .docs
            .into_iter()
            .map(|d| d.id)
            .collect()
    };
    assert_eq!(ids(Query::new().eq("x", 1)).await, ["a", "b"], "1 == 1.0");
    assert_eq!(
        ids(Query::new().eq("x", serde_json::Value::Null)).await,
        ["c", "d"],
        "null matches missing"
    );
    assert_eq!(
        ids(Query::new().filter("x", Op::Ne, serde_json::Value::Null)).await,
        ["a", "b"]
    );
    assert!(
        ids(Query::new().filter("x", Op::In, json!([])))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(Query::new().filter("x", Op::In, json!([null, 1]))).await,
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        ids(Query::new().filter("tags", Op::ArrayContains, "t")).await,
        ["a"],
        "arrays only"
    );
    assert_eq!(
        ids(Query::new().filter("tags", Op::ArrayContains, serde_json::Value::Null)).await,
        ["a"]
    );
    assert_eq!(
        ids(Query::new().order_by("x", Direction::Desc)).await,
        ["b", "a"],
        "nulls excluded"
    );
}

#[tokio::test]
async fn typed_collections_report_corrupt_documents_and_query() {
    let (_dir, store) = fresh_store();
    let users = store.collection::<User>();
    for (id, visits) in [("u1", 3), ("u2", 1), ("u3", 2)] {
        users
            .create(
                id,
                &User {
                    name: id.to_uppercase(),
                    visits,
                },
            )
            .await
            .unwrap();
    }
    let q = Query::new()
        .filter("visits", Op::Ge, 2)
        .order_by("visits", Direction::Desc)
        .limit(1);
    let (page, cursor) = users.query(&q).await.unwrap();
    assert_eq!(page[0].value.name, "U1");
    let (page, cursor) = users.query(&q.clone().after(cursor)).await.unwrap();
    assert_eq!((page[0].id.as_str(), cursor), ("u3", None));

    store
        .backend()
        .commit(vec![Write::Put {
            collection: "users".into(),
            id: "bad".into(),
            data: json!({"name": 5}),
            precondition: None,
        }])
        .await
        .unwrap();
    let err = users.get("bad").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { id, .. } if id == "bad"),
        "{err:?}"
    );
    assert!(
        users.query(&Query::new()).await.is_err(),
        "a corrupt document fails the page"
    );
}

#[tokio::test]
async fn ping_and_backend_name() {
    let (_dir, store) = fresh_store();
    store.ping().await.unwrap();
    assert_eq!(store.backend().backend(), "sqlite");
    assert!(format!("{store:?}").contains("sqlite"));
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// The documented shape: an async closure capturing references, with `?` on
/// store errors, usable where the future must be `Send` (axum handlers).
#[tokio::test]
async fn transact_takes_async_closures_that_capture_references() {
    let (_dir, store) = fresh_store();
    store
        .collection::<User>()
        .create(
            "x",
            &User {
                name: "x".into(),
                visits: 1,
            },
        )
        .await
        .unwrap();
    let u2 = User {
        name: "renamed".into(),
        visits: 2,
    };

    let n = store
        .transact(async |tx| {
            let u = tx.get::<User>("x").await?;
            assert!(u.is_some());
            tx.set("x", &u2)?;
            Ok::<_, StoreError>(5)
        })
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        store
            .collection::<User>()
            .get("x")
            .await
            .unwrap()
            .unwrap()
            .value,
        u2
    );

    // The same inside a Send future, as in a handler or a spawned task.
    let shared = Arc::new(store);
    let task = tokio::spawn({
        let store = Arc::clone(&shared);
        async move {
            let id = String::from("x");
            let visits = 7;
            assert_send(store.transact(async |tx| {
                let mut user = tx.get::<User>(&id).await?.expect("x exists");
                user.value.visits = visits;
                tx.update(&user)?;
                Ok::<_, StoreError>(user.value.visits)
            }))
            .await
        }
    });
    assert_eq!(task.await.unwrap().unwrap(), 7);
    let _: &Store = &shared;
}
