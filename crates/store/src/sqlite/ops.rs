//! The blocking SQLite operations behind [`SqliteStore`](super::SqliteStore);
//! each runs on a pooled connection inside `spawn_blocking`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Row, TransactionBehavior, params_from_iter};

use super::schema::{self, current_version, table, validate_collection, validate_id};
use super::{db, sql};
use crate::{Document, Page, Precondition, Query, StoreError, StoreResult, Version, Write};

/// Most ids bound in one `IN (…)` of `get_many`.
const GET_MANY_CHUNK: usize = 500;

const COLUMNS: &str = "id, version, data, created_at, updated_at";

fn row_to_doc(collection: &str, row: &Row<'_>) -> StoreResult<Document> {
    let id: String = row.get(0).map_err(db)?;
    let version: i64 = row.get(1).map_err(db)?;
    let data: String = row.get(2).map_err(db)?;
    let created_at: String = row.get(3).map_err(db)?;
    let updated_at: String = row.get(4).map_err(db)?;
    let data = serde_json::from_str(&data).map_err(|source| StoreError::Corrupt {
        collection: collection.to_owned(),
        id: id.clone(),
        source,
    })?;
    Ok(Document {
        version: Version(version),
        data,
        created_at: parse_time(&created_at)?,
        updated_at: parse_time(&updated_at)?,
        id,
    })
}

fn parse_time(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| StoreError::failed(format!("bad stored timestamp {text:?}: {err}")))
}

pub(super) fn get(conn: &Connection, collection: &str, id: &str) -> StoreResult<Option<Document>> {
    let sql = format!("SELECT {COLUMNS} FROM {} WHERE id = ?1", table(collection));
    let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
    let mut rows = stmt.query([id]).map_err(db)?;
    match rows.next().map_err(db)? {
        Some(row) => row_to_doc(collection, row).map(Some),
        None => Ok(None),
    }
}

/// The documents that exist, in the order of `ids`, read in one transaction.
pub(super) fn get_many(
    conn: &mut Connection,
    collection: &str,
    ids: &[String],
) -> StoreResult<Vec<Document>> {
    let unique: Vec<&String> = {
        let mut seen = HashSet::new();
        ids.iter().filter(|id| seen.insert(*id)).collect()
    };
    let tx = conn.transaction().map_err(db)?;
    let mut found = HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(GET_MANY_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE id IN ({marks})",
            table(collection)
        );
        let mut stmt = tx.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query(params_from_iter(chunk)).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let doc = row_to_doc(collection, row)?;
            found.insert(doc.id.clone(), doc);
        }
    }
    drop(tx);
    Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
}

/// Runs a validated query; the table must exist.
pub(super) fn query(conn: &Connection, collection: &str, query: &Query) -> StoreResult<Page> {
    let sql = sql::select(collection, query)?;
    let mut stmt = conn.prepare_cached(&sql.text).map_err(db)?;
    let mut rows = stmt.query(params_from_iter(&sql.params)).map_err(db)?;
    let mut docs = Vec::with_capacity(query.limit.min(64) + 1);
    while let Some(row) = rows.next().map_err(db)? {
        docs.push(row_to_doc(collection, row)?);
    }
    let next_cursor = if docs.len() > query.limit {
        docs.truncate(query.limit);
        docs.last().map(|doc| query.cursor_after(doc))
    } else {
        None
    };
    Ok(Page { docs, next_cursor })
}

/// The `EXPLAIN QUERY PLAN` of a validated query, one line per step.
pub(super) fn explain(conn: &Connection, collection: &str, query: &Query) -> StoreResult<String> {
    let sql = sql::select(collection, query)?;
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text))
        .map_err(db)?;
    let lines = stmt
        .query_map(params_from_iter(&sql.params), |row| row.get::<_, String>(3))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(lines.join("\n"))
}

/// Applies the writes in one `BEGIN IMMEDIATE` transaction. Returns the new
/// version of each put and the collections whose table it created.
pub(super) fn commit(
    conn: &mut Connection,
    has_table: &dyn Fn(&str) -> bool,
    writes: &[Write],
    now: &str,
) -> StoreResult<(Vec<Version>, Vec<String>)> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let mut created: Vec<String> = Vec::new();
    let mut versions = Vec::new();
    for write in writes {
        let (Write::Put { collection, id, .. }
        | Write::Delete { collection, id, .. }
        | Write::Verify { collection, id, .. }) = write;
        validate_collection(collection)?;
        if let Write::Verify { precondition, .. } = write
            && validate_id(id).is_err()
        {
            // A read of an impossible id saw nothing, and still does.
            check(*precondition, None, collection, id)?;
            continue;
        }
        validate_id(id)?;
        let has_table = has_table(collection) || created.contains(collection);
        match write {
            Write::Put {
                data, precondition, ..
            } => {
                if !has_table {
                    schema::create_table(&tx, collection)?;
                    created.push(collection.clone());
                }
                let text = serde_json::to_string(data).map_err(StoreError::Serialize)?;
                versions.push(put(&tx, collection, id, &text, *precondition, now)?);
            }
            Write::Delete { precondition, .. } => {
                let current = if has_table {
                    current_version(&tx, collection, id)?
                } else {
                    None
                };
                if let Some(precondition) = precondition {
                    check(*precondition, current, collection, id)?;
                }
                if current.is_some() {
                    tx.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", table(collection)))
                        .map_err(db)?
                        .execute([id])
                        .map_err(db)?;
                }
            }
            Write::Verify { precondition, .. } => {
                let current = if has_table {
                    current_version(&tx, collection, id)?
                } else {
                    None
                };
                check(*precondition, current, collection, id)?;
            }
        }
    }
    tx.commit().map_err(db)?;
    Ok((versions, created))
}

/// One put as a single statement whose `RETURNING` row tells whether the
/// precondition held.
fn put(
    conn: &Connection,
    collection: &str,
    id: &str,
    data: &str,
    precondition: Option<Precondition>,
    now: &str,
) -> StoreResult<Version> {
    let table = table(collection);
    let insert = format!(
        "INSERT INTO {table} (id, version, data, created_at, updated_at) VALUES (?1, 1, ?2, ?3, ?3)"
    );
    let update = format!(
        "UPDATE {table} SET version = version + 1, data = ?2, updated_at = ?3 WHERE id = ?1"
    );
    let (sql, expected) = match precondition {
        None => (
            format!(
                "{insert} ON CONFLICT(id) DO UPDATE SET version = version + 1, \
                 data = excluded.data, updated_at = excluded.updated_at RETURNING version"
            ),
            None,
        ),
        Some(Precondition::Absent) => (
            format!("{insert} ON CONFLICT(id) DO NOTHING RETURNING version"),
            None,
        ),
        Some(Precondition::Exists) => (format!("{update} RETURNING version"), None),
        Some(Precondition::Version(v)) => (
            format!("{update} AND version = ?4 RETURNING version"),
            Some(v.0),
        ),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
    let version: Option<i64> = match expected {
        Some(v) => stmt.query_row(rusqlite::params![id, data, now, v], |row| row.get(0)),
        None => stmt.query_row(rusqlite::params![id, data, now], |row| row.get(0)),
    }
    .optional()
    .map_err(db)?;
    match version {
        Some(version) => Ok(Version(version)),
        None => {
            // The precondition failed: say which way.
            let current = current_version(conn, collection, id)?;
            check(
                precondition.unwrap_or(Precondition::Exists),
                current,
                collection,
                id,
            )?;
            Err(StoreError::conflict(collection, id))
        }
    }
}

/// Checks a precondition against the stored version (`None`: absent).
fn check(
    precondition: Precondition,
    current: Option<i64>,
    collection: &str,
    id: &str,
) -> StoreResult<()> {
    match (precondition, current) {
        (Precondition::Absent, Some(_)) => Err(StoreError::already_exists(collection, id)),
        (Precondition::Exists | Precondition::Version(_), None) => {
            Err(StoreError::not_found(collection, id))
        }
        (Precondition::Version(expected), Some(actual)) if expected.0 != actual => {
            Err(StoreError::conflict(collection, id))
        }
        _ => Ok(()),
    }
}
