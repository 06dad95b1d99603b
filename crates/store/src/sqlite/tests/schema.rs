//! Migrations, reopening, lazy tables and name validation.

use rusqlite::Connection;
use serde_json::json;

use super::{fresh, fresh_store};
use crate::sqlite::schema::{MIGRATIONS, Migration, migrate};
use crate::{Direction, DocumentStore, IndexSpec, Op, Precondition, Query, SqliteStore};
use crate::{StoreError, Version, Write};

fn put(collection: &str, id: &str, data: serde_json::Value) -> Write {
    Write::Put {
        collection: collection.to_owned(),
        id: id.to_owned(),
        data,
        precondition: None,
    }
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn migrations_apply_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("m.db")).unwrap();
    let first = Migration {
        version: 1,
        name: "one",
        sql: "CREATE TABLE t1 (x)",
    };
    let second = Migration {
        version: 2,
        name: "two",
        sql: "CREATE TABLE t2 (x)",
    };
    assert_eq!(migrate(&mut conn, &[first]).unwrap(), 1);
    assert_eq!(migrate(&mut conn, &[first]).unwrap(), 0, "applied once");
    assert_eq!(
        migrate(&mut conn, &[first, second]).unwrap(),
        1,
        "only the new one"
    );
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM _schema_migrations"), 2);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('t1', 't2')"
        ),
        2
    );

    let err = migrate(&mut conn, &[first]).unwrap_err();
    assert!(
        matches!(err, StoreError::Failed(_)),
        "older code on a newer schema: {err:?}"
    );
    assert!(format!("{:?}", err).contains("newer"), "{err:?}");
}

#[test]
fn a_failing_migration_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("m.db")).unwrap();
    let good = Migration {
        version: 1,
        name: "good",
        sql: "CREATE TABLE t1 (x)",
    };
    let bad = Migration {
        version: 2,
        name: "bad",
        sql: "CREATE TABLE broken (",
    };
    assert!(migrate(&mut conn, &[good, bad]).is_err());
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 't1'"
        ),
        0
    );
}

#[tokio::test]
async fn reopening_keeps_documents_versions_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let index = IndexSpec::new(
        "things",
        &[("kind", Direction::Asc), ("rank", Direction::Desc)],
    );
    let query = Query::new()
        .eq("kind", "a")
        .order_by("rank", Direction::Desc);
    let before = {
        let store = SqliteStore::open(&path).unwrap();
        store
            .commit(vec![put("things", "t1", json!({"kind": "a", "rank": 1}))])
            .await
            .unwrap();
        store
            .commit(vec![put("things", "t1", json!({"kind": "a", "rank": 2}))])
            .await
            .unwrap();
        store
            .ensure_indexes(std::slice::from_ref(&index))
            .await
            .unwrap();
        store.get("things", "t1").await.unwrap().unwrap()
    };
    assert_eq!(before.version, Version(2));

    let store = SqliteStore::open(&path).unwrap();
    let after = store.get("things", "t1").await.unwrap().unwrap();
    assert_eq!(
        after, before,
        "document, version and timestamps survive a reopen"
    );
    let plan = store.explain("things", &query).await.unwrap();
    assert!(plan.contains("USING INDEX ix_things_"), "{plan}");
    store.ensure_indexes(&[index]).await.unwrap();
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let applied = count(&conn, "SELECT COUNT(*) FROM _schema_migrations");
    assert_eq!(applied, MIGRATIONS.len() as i64, "migrations applied once");
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_things_%'"
        ),
        1
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn opening_a_newer_schema_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(SqliteStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO _schema_migrations VALUES (999, 'future', 'now')",
            [],
        )
        .unwrap();
    let err = SqliteStore::open(&path)
        .err()
        .expect("refuses a newer schema");
    assert!(matches!(err, StoreError::Failed(_)), "{err:?}");
}

#[tokio::test]
async fn tables_are_created_by_the_first_successful_write_only() {
    let (dir, store) = fresh();
    let table_count = |name: &str| {
        let conn = Connection::open(dir.path().join("nested").join("store.db")).unwrap();
        count(
            &conn,
            &format!("SELECT COUNT(*) FROM sqlite_master WHERE name = 'c_{name}'"),
        )
    };
    assert!(store.get("lazy", "x").await.unwrap().is_none());
    store.query("lazy", &Query::new().eq("a", 1)).await.unwrap();
    store
        .commit(vec![Write::Delete {
            collection: "lazy".into(),
            id: "x".into(),
            precondition: None,
        }])
        .await
        .unwrap();
    assert_eq!(table_count("lazy"), 0, "reads and deletes create no table");

    let err = store
        .commit(vec![
            put("lazy", "x", json!({})),
            Write::Verify {
                collection: "other".into(),
                id: "y".into(),
                precondition: Precondition::Exists,
            },
        ])
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        table_count("lazy"),
        0,
        "a failed commit rolls the table back"
    );
    assert!(
        store.get("lazy", "x").await.unwrap().is_none(),
        "and reads still work"
    );

    store
        .commit(vec![put("lazy", "x", json!({"a": 1}))])
        .await
        .unwrap();
    assert_eq!(table_count("lazy"), 1);
    let page = store.query("lazy", &Query::new().eq("a", 1)).await.unwrap();
    assert_eq!(page.docs.len(), 1);
}

#[tokio::test]
async fn bad_names_are_invalid_name_never_sql_errors() {
    let (_dir, store) = fresh_store();
    let backend = store.backend();
    let long = "a".repeat(64);
    for collection in [
        "",
        "A",
        "1a",
        "a-b",
        "a b",
        "a\"b",
        "x\"; DROP TABLE c_x; --",
        "é",
        &long,
    ] {
        let invalid = |result: Result<(), StoreError>| {
            let err = result.unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidName(_)),
                "{collection:?}: {err:?}"
            );
        };
        invalid(backend.get(collection, "x").await.map(drop));
        invalid(backend.get_many(collection, &["x".into()]).await.map(drop));
        invalid(backend.query(collection, &Query::new()).await.map(drop));
        invalid(
            backend
                .commit(vec![put(collection, "x", json!({}))])
                .await
                .map(drop),
        );
        invalid(
            backend
                .ensure_indexes(&[IndexSpec::new(collection, &[("a", Direction::Asc)])])
                .await,
        );
    }
    let ok63 = "a".repeat(63);
    for collection in ["_", "a", "a_1", ok63.as_str()] {
        backend
            .commit(vec![put(collection, "x", json!({}))])
            .await
            .unwrap();
    }

    let long_id = "x".repeat(513);
    // `.`, `..` and `__…__` are refused for Firestore's sake, on every backend.
    for id in ["", "a/b", &long_id, ".", "..", "__x__"] {
        // Read: no document has it. Written: refused.
        assert!(backend.get("ids", id).await.unwrap().is_none(), "{id:?}");
        let err = backend
            .commit(vec![put("ids", id, json!({}))])
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName(_)),
            "id {id:?}: {err:?}"
        );
    }
    let max_id = "x".repeat(512);
    for id in ["ü", "a'b\"c", "x; DROP TABLE c_ids", "...", max_id.as_str()] {
        backend
            .commit(vec![put("ids", id, json!({"id": id}))])
            .await
            .unwrap();
        assert_eq!(
            backend.get("ids", id).await.unwrap().unwrap().data["id"],
            id
        );
    }

    for field in ["a'", "a)", "a.b'", "$", "a[0]", "a;b", "a\"b", "a..b"] {
        let err = backend
            .query("ids", &Query::new().filter(field, Op::Gt, 1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName(_)),
            "field {field:?}: {err:?}"
        );
        let err = backend
            .ensure_indexes(&[IndexSpec::new("ids", &[(field, Direction::Asc)])])
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName(_)),
            "index field {field:?}: {err:?}"
        );
    }
    let err = backend
        .ensure_indexes(&[IndexSpec::new("ids", &[])])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidQuery(_)), "{err:?}");
}
