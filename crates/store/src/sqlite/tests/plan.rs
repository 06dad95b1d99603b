//! Query plans over 100,000 documents: a declared index serves an equality
//! filter plus ordering, and the next page, with no sort and no scan.

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use super::fresh;
use crate::{Direction, DocumentStore, IndexSpec, Query, Write};

const DOCS: usize = 100_000;
const CATEGORIES: usize = 20;

fn assert_indexed(plan: &str) {
    assert!(
        plan.contains("USING INDEX ix_products_"),
        "index not used:\n{plan}"
    );
    assert!(
        !plan.contains("TEMP B-TREE"),
        "sorts in a temp b-tree:\n{plan}"
    );
    assert!(!plan.contains("SCAN"), "scans:\n{plan}");
}

#[tokio::test]
async fn declared_index_serves_filter_order_and_cursor_over_100k_documents() {
    let (_dir, store) = fresh();
    let started = Instant::now();
    let base = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let created_at = |i: usize| {
        (base + Duration::seconds(i as i64)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    };
    for batch in 0..4 {
        let writes = (batch * DOCS / 4..(batch + 1) * DOCS / 4)
            .map(|i| Write::Put {
                collection: "products".into(),
                id: format!("p{i:06}"),
                data: json!({
                    "title": format!("Product {i}"),
                    "category": format!("cat{:02}", i % CATEGORIES),
                    "created_at": created_at(i),
                    "price": {"amount": (i * 37) % 10_000, "currency": "EUR"},
                }),
                precondition: None,
            })
            .collect();
        store.commit(writes).await.unwrap();
    }
    let inserted = started.elapsed();
    store
        .ensure_indexes(&[IndexSpec::new(
            "products",
            &[
                ("category", Direction::Asc),
                ("created_at", Direction::Desc),
            ],
        )])
        .await
        .unwrap();
    let indexed = started.elapsed();

    let query = Query::new()
        .eq("category", "cat07")
        .order_by("created_at", Direction::Desc)
        .limit(20);
    assert_indexed(&store.explain("products", &query).await.unwrap());

    let page = store.query("products", &query).await.unwrap();
    let expected: Vec<usize> = (0..DOCS)
        .rev()
        .filter(|i| i % CATEGORIES == 7)
        .take(40)
        .collect();
    let ids = |docs: &[crate::Document]| docs.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    let expected_ids: Vec<String> = expected.iter().map(|i| format!("p{i:06}")).collect();
    assert_eq!(ids(&page.docs), expected_ids[..20]);
    assert!(page.docs.iter().all(|d| d.data["category"] == "cat07"));
    assert!(
        page.docs
            .windows(2)
            .all(|w| { w[0].data["created_at"].as_str() > w[1].data["created_at"].as_str() })
    );

    let next = query.clone().after(page.next_cursor.clone());
    let plan = store.explain("products", &next).await.unwrap();
    assert_indexed(&plan);
    assert!(
        plan.contains("<expr>=? AND <expr><"),
        "the cursor is not a range seek:\n{plan}"
    );
    let page2 = store.query("products", &next).await.unwrap();
    assert_eq!(ids(&page2.docs), expected_ids[20..]);

    let total = started.elapsed();
    eprintln!(
        "100k docs: insert {inserted:?}, index {:?}, total {total:?}\nplan:\n{plan}",
        indexed - inserted
    );
}
