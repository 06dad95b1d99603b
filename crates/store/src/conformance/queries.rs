//! Checks of filters, ordering and query validation.

use serde_json::{Value, json};

use super::{put_all, query_ids, unique_collection};
use crate::{Direction, Op, Query, Store, StoreError};

use Direction::{Asc, Desc};

/// Every filter operator, on top-level, nested and `id` fields (which
/// documents match, in any order).
pub async fn query_operators(store: &Store) {
    let coll = unique_collection("ops");
    put_all(
        store,
        &coll,
        &[
            ("a", json!({"n": 1, "name": "anvil", "price": {"amount": 10}, "tags": ["red", "big"], "flag": true})),
            ("b", json!({"n": 2, "name": "bolt", "price": {"amount": 2.5}, "tags": ["small"], "flag": false})),
            ("c", json!({"n": 3, "name": "chisel", "price": {"amount": 7}, "tags": ["red"], "flag": true})),
            ("d", json!({"n": 4, "name": "drill", "price": {"amount": 120}, "tags": [], "flag": false})),
            ("e", json!({"n": 5, "name": "epoxy", "tags": ["small", "red"]})),
            ("f", json!({"name": "file", "price": {"amount": 3}, "tags": "red"})),
            ("g", json!({"n": "7", "name": "gouge"})),
        ],
    )
    .await;

    let cases: Vec<(Query, &[&str])> = vec![
        (Query::new(), &["a", "b", "c", "d", "e", "f", "g"]),
        (Query::new().eq("name", "bolt"), &["b"]),
        (Query::new().eq("n", 3), &["c"]),
        (Query::new().eq("n", "7"), &["g"]),
        (Query::new().eq("flag", true), &["a", "c"]),
        (Query::new().eq("flag", false), &["b", "d"]),
        (Query::new().eq("price.amount", 2.5), &["b"]),
        (Query::new().eq("name", "nothing"), &[]),
        (
            Query::new().filter("n", Op::Ne, 3),
            &["a", "b", "d", "e", "g"],
        ),
        (Query::new().filter("n", Op::Lt, 3), &["a", "b"]),
        (Query::new().filter("n", Op::Le, 3), &["a", "b", "c"]),
        (Query::new().filter("n", Op::Gt, 3), &["d", "e"]),
        (Query::new().filter("n", Op::Ge, 4), &["d", "e"]),
        (
            Query::new().filter("name", Op::Gt, "d"),
            &["d", "e", "f", "g"],
        ),
        (Query::new().filter("name", Op::Lt, "c"), &["a", "b"]),
        (Query::new().filter("price.amount", Op::Lt, 7), &["b", "f"]),
        (
            Query::new().filter("price.amount", Op::Ge, 7),
            &["a", "c", "d"],
        ),
        (
            Query::new().filter("name", Op::In, json!(["bolt", "file", "zzz"])),
            &["b", "f"],
        ),
        (
            Query::new().filter("n", Op::In, json!([1, 5, 99])),
            &["a", "e"],
        ),
        (Query::new().filter("n", Op::In, json!(["7"])), &["g"]),
        (
            Query::new().filter("tags", Op::ArrayContains, "red"),
            &["a", "c", "e"],
        ),
        (
            Query::new().filter("tags", Op::ArrayContains, "small"),
            &["b", "e"],
        ),
        (Query::new().filter("tags", Op::ArrayContains, "none"), &[]),
        (Query::new().eq("id", "c"), &["c"]),
        (
            Query::new().filter("id", Op::In, json!(["a", "e", "zz"])),
            &["a", "e"],
        ),
        (Query::new().filter("id", Op::Gt, "e"), &["f", "g"]),
        (
            Query::new()
                .filter("tags", Op::ArrayContains, "red")
                .filter("n", Op::Lt, 5),
            &["a", "c"],
        ),
        (
            Query::new()
                .eq("flag", true)
                .filter("price.amount", Op::Gt, 8),
            &["a"],
        ),
    ];
    for (query, expected) in cases {
        // Which documents match; the order is `query_ordering`'s concern
        // (an inequality filter on an unordered field may sort first).
        let mut got = query_ids(store, &coll, &query).await;
        got.sort();
        assert_eq!(got, expected, "filters {:?}", query.filters);
    }
}

/// Multi-field ordering with the id tie-break in the last field's direction;
/// documents missing an order-by field are left out; limits.
pub async fn query_ordering(store: &Store) {
    let coll = unique_collection("order");
    put_all(
        store,
        &coll,
        &[
            ("o1", json!({"a": 2, "b": 1})),
            ("o2", json!({"a": 1, "b": 1})),
            ("o3", json!({"a": 2, "b": 2})),
            ("o4", json!({"a": 1, "b": 1})),
            ("o5", json!({"a": 3})),
            ("o6", json!({"b": 5})),
            ("o7", json!({"a": 2, "b": 1})),
            ("o8", json!({"a": 1.5, "b": 0, "p": {"q": "m"}})),
        ],
    )
    .await;

    let cases: Vec<(Query, &[&str])> = vec![
        (
            Query::new(),
            &["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"],
        ),
        (
            Query::new().order_by("id", Asc),
            &["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"],
        ),
        (
            Query::new().order_by("a", Asc),
            &["o2", "o4", "o8", "o1", "o3", "o7", "o5"],
        ),
        (
            Query::new().order_by("a", Desc),
            &["o5", "o7", "o3", "o1", "o8", "o4", "o2"],
        ),
        (
            Query::new().order_by("a", Asc).order_by("b", Desc),
            &["o4", "o2", "o8", "o3", "o7", "o1"],
        ),
        (
            Query::new().order_by("b", Asc).order_by("a", Asc),
            &["o8", "o2", "o4", "o1", "o7", "o3"],
        ),
        (
            Query::new().eq("b", 1).order_by("a", Desc),
            &["o7", "o1", "o4", "o2"],
        ),
        (Query::new().order_by("p.q", Asc), &["o8"]),
    ];
    for (query, expected) in cases {
        let got = query_ids(store, &coll, &query).await;
        assert_eq!(got, expected, "order by {:?}", query.order_by);
    }

    let page = store
        .backend()
        .query(&coll, &Query::new().order_by("a", Asc).limit(3))
        .await
        .unwrap();
    assert_eq!(super::ids(&page.docs), ["o2", "o4", "o8"]);
    assert!(
        page.next_cursor.is_some(),
        "a cursor when more documents follow"
    );
    let page = store
        .backend()
        .query(&coll, &Query::new().order_by("a", Asc).limit(7))
        .await
        .unwrap();
    assert_eq!(page.docs.len(), 7);
    assert!(
        page.next_cursor.is_none(),
        "no cursor when the page holds the rest exactly"
    );
}

/// Bad field paths are `InvalidName`; bad limits and filter values are
/// `InvalidQuery`; bad collection names are `InvalidName`.
pub async fn invalid_queries_rejected(store: &Store) {
    let coll = unique_collection("invalid");
    put_all(store, &coll, &[("x", json!({"a": 1}))]).await;
    let backend = store.backend();
    for path in [
        "a b",
        "a.",
        ".a",
        "1a",
        "a-b",
        "x') OR 1=1 --",
        "a\"b",
        "$.a",
    ] {
        for query in [Query::new().eq(path, 1), Query::new().order_by(path, Asc)] {
            let err = backend.query(&coll, &query).await.unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidName(_)),
                "path {path:?}: {err:?}"
            );
        }
    }
    let too_many: Vec<Value> = (0..31).map(Value::from).collect();
    for query in [
        Query::new().limit(0),
        Query::new().limit(1001),
        Query::new().filter("a", Op::In, too_many),
        Query::new().filter("a", Op::In, 1),
        Query::new().eq("a", json!({"x": 1})),
        Query::new().filter("a", Op::ArrayContains, json!([1])),
        // Firestore does not scan document keys backwards.
        Query::new().order_by("id", Desc),
    ] {
        let err = backend.query(&coll, &query).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidQuery(_)),
            "{query:?}: {err:?}"
        );
    }
    backend
        .query(&coll, &Query::new().limit(1000))
        .await
        .unwrap();
    for bad in ["", "Bad", "a/b", "x\"; --"] {
        let err = backend.query(bad, &Query::new()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName(_)),
            "collection {bad:?}: {err:?}"
        );
    }
}
