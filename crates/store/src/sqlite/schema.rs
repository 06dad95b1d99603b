//! SQLite schema: migrations, collection tables and declared indexes.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::db;
pub(super) use crate::names::{validate_collection, validate_id};
use crate::query::validate_field_path;
use crate::{Direction, IndexSpec, StoreError, StoreResult};

/// One schema change, applied once and recorded in `_schema_migrations`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Migration {
    pub(super) version: i64,
    pub(super) name: &'static str,
    pub(super) sql: &'static str,
}

/// Every migration this build knows, in order. Append only.
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "store_meta",
    sql: "CREATE TABLE _store_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID",
}];

/// Applies the migrations missing from the database, all in one transaction.
/// Returns how many ran. A database migrated by a newer build is refused.
pub(super) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> StoreResult<usize> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS _schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )
    .map_err(db)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM _schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(db)?;
    let known = migrations.last().map_or(0, |m| m.version);
    if current > known {
        return Err(StoreError::failed(format!(
            "database schema version {current} is newer than this build knows ({known})"
        )));
    }
    let now = super::now_text(chrono::Utc::now());
    let mut applied = 0;
    for migration in migrations.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql).map_err(db)?;
        tx.execute(
            "INSERT INTO _schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![migration.version, migration.name, now],
        )
        .map_err(db)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
        applied += 1;
    }
    tx.commit().map_err(db)?;
    Ok(applied)
}

/// The quoted table name of a (validated) collection.
pub(super) fn table(collection: &str) -> String {
    format!("\"c_{collection}\"")
}

/// Creates the collection's table if needed.
pub(super) fn create_table(conn: &Connection, collection: &str) -> StoreResult<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
             id TEXT PRIMARY KEY NOT NULL,
             version INTEGER NOT NULL,
             data TEXT NOT NULL,
             created_at TEXT NOT NULL,
             updated_at TEXT NOT NULL
         ) WITHOUT ROWID",
        table(collection)
    ))
    .map_err(db)
}

/// The collections that have a table.
pub(super) fn existing_tables(conn: &Connection) -> StoreResult<HashSet<String>> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'c\\_%' ESCAPE '\\'",
        )
        .map_err(db)?;
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(names
        .into_iter()
        .filter_map(|name| name.strip_prefix("c_").map(str::to_owned))
        .collect())
}

/// `CREATE INDEX IF NOT EXISTS "ix_<coll>_<hash>" ON "c_<coll>" (…, id <dir>)`.
/// The expressions are exactly those queries use, so the planner matches them;
/// `id` comes last in the last field's direction, like the query tie-break.
pub(super) fn index_sql(spec: &IndexSpec) -> StoreResult<String> {
    validate_collection(&spec.collection)?;
    if spec.fields.is_empty() {
        return Err(StoreError::InvalidQuery(format!(
            "index on {} has no fields",
            spec.collection
        )));
    }
    let mut hasher = Sha256::new();
    let mut columns = Vec::with_capacity(spec.fields.len() + 1);
    for (field, direction) in &spec.fields {
        validate_field_path(field)?;
        hasher.update(format!("{field}:{}\n", direction.as_str()));
        columns.push(format!(
            "{}{}",
            super::sql::field_expr(field),
            suffix(*direction)
        ));
    }
    if let Some((last, direction)) = spec.fields.last()
        && last != "id"
    {
        columns.push(format!("id{}", suffix(*direction)));
    }
    let hash = hex::encode(hasher.finalize());
    Ok(format!(
        "CREATE INDEX IF NOT EXISTS \"ix_{}_{}\" ON {} ({})",
        spec.collection,
        &hash[..8],
        table(&spec.collection),
        columns.join(", ")
    ))
}

fn suffix(direction: Direction) -> &'static str {
    match direction {
        Direction::Asc => "",
        Direction::Desc => " DESC",
    }
}

/// The version of a document, if it exists (the table must exist).
pub(super) fn current_version(
    conn: &Connection,
    collection: &str,
    id: &str,
) -> StoreResult<Option<i64>> {
    conn.prepare_cached(&format!(
        "SELECT version FROM {} WHERE id = ?1",
        table(collection)
    ))
    .map_err(db)?
    .query_row([id], |row| row.get(0))
    .optional()
    .map_err(db)
}
