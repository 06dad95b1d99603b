//! Checks of cursor paging.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{ids, put_all, unique_collection};
use crate::{Cursor, Direction, Document, Op, Query, Store, StoreError, Write};

use Direction::{Asc, Desc};

/// Follows `next_cursor` to the end; `between` runs after each page.
async fn walk(
    store: &Store,
    collection: &str,
    query: &Query,
    mut between: impl AsyncFnMut(usize, &Document),
) -> Vec<Document> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for page_no in 0.. {
        assert!(page_no < 10_000, "paging {query:?} does not end");
        let page = store
            .backend()
            .query(collection, &query.clone().after(cursor))
            .await
            .unwrap_or_else(|err| panic!("page {page_no} of {query:?}: {err}"));
        assert!(page.docs.len() <= query.limit, "page larger than the limit");
        if let Some(last) = page.docs.last() {
            between(page_no, last).await;
        }
        seen.extend(page.docs);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen
}

/// Paging with any page size visits exactly the documents of one big query,
/// in the same order, even with many ties on the order-by fields.
pub async fn cursor_paging_visits_every_document_once(store: &Store) {
    let coll = unique_collection("paging");
    let docs: Vec<(String, Value)> = (0..53)
        .map(|i| (format!("p{i:03}"), json!({"g": (i * 7) % 5, "n": i % 11})))
        .collect();
    let fixtures: Vec<(&str, Value)> = docs
        .iter()
        .map(|(id, d)| (id.as_str(), d.clone()))
        .collect();
    put_all(store, &coll, &fixtures).await;

    let queries = [
        Query::new(),
        Query::new().order_by("g", Asc),
        Query::new().order_by("g", Desc),
        Query::new().order_by("g", Asc).order_by("n", Desc),
        Query::new().order_by("n", Desc).order_by("g", Desc),
        Query::new().filter("n", Op::Ge, 3).order_by("g", Asc),
        Query::new().filter("n", Op::Ge, 3),
        Query::new()
            .filter("n", Op::Ne, 4)
            .filter("g", Op::Lt, 4)
            .order_by("g", Desc),
    ];
    for query in queries {
        let all = super::query_ids(store, &coll, &query.clone().limit(1000)).await;
        for size in [1, 7, 53, 100] {
            let paged = ids(&walk(store, &coll, &query.clone().limit(size), async |_, _| {}).await);
            assert_eq!(paged, all, "paging {query:?} by {size}");
        }
    }
}

/// Writes between pages: documents inserted before the cursor position are
/// not visited, those after it are, deleted ones vanish, and nothing repeats.
pub async fn cursor_paging_with_concurrent_writes(store: &Store) {
    let coll = unique_collection("paging_live");
    let initial: Vec<(String, Value)> = (0..20)
        .map(|i| (format!("m{i:02}"), json!({"n": i * 10})))
        .collect();
    let fixtures: Vec<(&str, Value)> = initial
        .iter()
        .map(|(id, d)| (id.as_str(), d.clone()))
        .collect();
    put_all(store, &coll, &fixtures).await;

    let put = |id: &str, n: i64| Write::Put {
        collection: coll.clone(),
        id: id.to_owned(),
        data: json!({"n": n}),
        precondition: None,
    };
    let delete = |id: &str| Write::Delete {
        collection: coll.clone(),
        id: id.to_owned(),
        precondition: None,
    };
    let backend = store.backend();
    let query = Query::new().order_by("n", Asc).limit(5);
    let seen = walk(store, &coll, &query, async |page_no, last| {
        let writes = match page_no {
            // After m00..m04 (the last is n = 40, id m04).
            0 => {
                assert_eq!(last.id, "m04");
                vec![
                    put("before1", 15),
                    put("a40", 40), // a tie that sorts before m04
                    put("z40", 40), // a tie that sorts after m04
                    put("after1", 45),
                    delete("m01"), // already visited
                    delete("m10"), // not visited yet
                ]
            }
            1 => vec![put("before2", 0), put("late", 1000)],
            _ => Vec::new(),
        };
        if !writes.is_empty() {
            backend.commit(writes).await.unwrap();
        }
    })
    .await;

    let seen_ids = ids(&seen);
    let unique: HashSet<&String> = seen_ids.iter().collect();
    assert_eq!(
        unique.len(),
        seen_ids.len(),
        "a document was visited twice: {seen_ids:?}"
    );
    let keys: Vec<(i64, &str)> = seen
        .iter()
        .map(|d| (d.data["n"].as_i64().unwrap_or(-1), d.id.as_str()))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "out of order: {keys:?}"
    );

    let mut expected: Vec<String> = initial
        .iter()
        .map(|(id, _)| id.clone())
        .filter(|id| id != "m10")
        .collect();
    expected.extend(["z40", "after1", "late"].map(String::from));
    let mut got = seen_ids.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "documents visited");
}

/// Malformed cursors, and cursors of a differently ordered query, are
/// `InvalidCursor`.
pub async fn invalid_cursors_rejected(store: &Store) {
    for garbage in ["", "!!", "not a cursor", "eyJ9", "AAAA", "%%%"] {
        let err = Cursor::parse(garbage).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidCursor),
            "{garbage:?}: {err:?}"
        );
    }
    assert!(serde_json::from_value::<Cursor>(json!("%%%")).is_err());

    let coll = unique_collection("cursors");
    put_all(
        store,
        &coll,
        &[
            ("a", json!({"n": 1, "m": 1})),
            ("b", json!({"n": 2, "m": 2})),
            ("c", json!({"n": 3, "m": 3})),
        ],
    )
    .await;
    let backend = store.backend();
    let by_n = Query::new().order_by("n", Asc).limit(1);
    let cursor = backend
        .query(&coll, &by_n)
        .await
        .unwrap()
        .next_cursor
        .expect("a cursor after the first of three");
    let reparsed = Cursor::parse(cursor.as_str()).unwrap();
    let next = backend
        .query(&coll, &by_n.clone().after(Some(reparsed)))
        .await
        .unwrap();
    assert_eq!(
        ids(&next.docs),
        ["b"],
        "a re-parsed cursor resumes the same query"
    );

    for other in [
        Query::new().order_by("n", Desc),
        Query::new().order_by("m", Asc),
        Query::new().order_by("n", Asc).order_by("m", Asc),
        Query::new(),
    ] {
        let err = backend
            .query(&coll, &other.clone().after(Some(cursor.clone())))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidCursor),
            "cursor reused for {other:?}: {err:?}"
        );
    }
}
