//! The embedded SQLite backend: one table of JSON documents per collection,
//! queried through `json_extract` expressions that declared indexes cover.

mod ops;
mod schema;
mod sql;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, TryLockError};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::{Document, DocumentStore, IndexSpec, Page, Query, StoreError, StoreResult};
use crate::{Version, Write};
use schema::{validate_collection, validate_id};

/// Reader connections kept open next to the single writer.
const READERS: usize = 4;

/// A [`DocumentStore`] in one SQLite file (WAL mode): one writer connection
/// behind a mutex and a small pool of readers, all used from
/// `spawn_blocking` so the async runtime never waits on disk.
///
/// Values compare as SQLite sees `json_extract` results: booleans are the
/// integers 0 and 1, `1 == 1.0`, and a field holding JSON `null` counts as
/// missing (`eq(field, null)` matches both; ordering by it leaves both out).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Collections whose table exists (tables are created on first write).
    tables: RwLock<HashSet<String>>,
}

fn db(err: rusqlite::Error) -> StoreError {
    StoreError::unavailable(err)
}

/// Timestamps are stored as RFC 3339 UTC with microseconds.
fn now_text(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn open_connection(path: &Path, reader: bool) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(db)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::failed(format!(
            "{} does not support WAL (journal_mode {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db)?;
    conn.pragma_update(None, "busy_timeout", 5000).map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    if reader {
        conn.pragma_update(None, "query_only", "ON").map_err(db)?;
    }
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its parent folder,
    /// and applies pending schema migrations. Blocking.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(StoreError::unavailable)?;
        }
        let mut writer = open_connection(path, false)?;
        schema::migrate(&mut writer, schema::MIGRATIONS)?;
        let tables = schema::existing_tables(&writer)?;
        let readers = (0..READERS)
            .map(|_| open_connection(path, true).map(Mutex::new))
            .collect::<StoreResult<_>>()?;
        tracing::debug!(path = %path.display(), collections = tables.len(), "opened sqlite store");
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                tables: RwLock::new(tables),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The `EXPLAIN QUERY PLAN` text of the SQL `query` would run, one line
    /// per step (empty while the collection has no table).
    pub async fn explain(&self, collection: &str, query: &Query) -> StoreResult<String> {
        validate_collection(collection)?;
        query.validate()?;
        let (collection, query) = (collection.to_owned(), query.clone());
        self.read(move |conn, exists| match exists(&collection) {
            true => ops::explain(conn, &collection, &query),
            false => Ok(String::new()),
        })
        .await
    }

    /// Runs `f` on a reader connection in the blocking pool. `f` also gets a
    /// test for "this collection has a table".
    async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &dyn Fn(&str) -> bool) -> StoreResult<R> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.reader();
            f(&mut conn, &|collection| inner.has_table(collection))
        })
        .await
        .map_err(StoreError::unavailable)?
    }

    /// Runs `f` on the writer connection in the blocking pool.
    async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection, &Inner) -> StoreResult<R> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = lock(&inner.writer);
            f(&mut conn, &inner)
        })
        .await
        .map_err(StoreError::unavailable)?
    }
}

impl Inner {
    /// A free reader if there is one, else the next in turn (waiting for it).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            let Some(reader) = self.readers.get((start + i) % self.readers.len()) else {
                continue;
            };
            match reader.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.readers[start % self.readers.len()])
    }

    fn has_table(&self, collection: &str) -> bool {
        self.tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(collection)
    }

    fn add_tables(&self, created: Vec<String>) {
        if !created.is_empty() {
            self.tables
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(created);
        }
    }
}

#[async_trait]
impl DocumentStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<Document>> {
        validate_collection(collection)?;
        // No document can have an id that is not one: reading it is None
        // (so an id from a request never turns into an error).
        if validate_id(id).is_err() {
            return Ok(None);
        }
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.read(move |conn, exists| match exists(&collection) {
            true => ops::get(conn, &collection, &id),
            false => Ok(None),
        })
        .await
    }

    async fn get_many(&self, collection: &str, ids: &[String]) -> StoreResult<Vec<Document>> {
        validate_collection(collection)?;
        let ids: Vec<String> = ids
            .iter()
            .filter(|id| validate_id(id).is_ok())
            .cloned()
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let collection = collection.to_owned();
        self.read(move |conn, exists| match exists(&collection) {
            true => ops::get_many(conn, &collection, &ids),
            false => Ok(Vec::new()),
        })
        .await
    }

    async fn query(&self, collection: &str, query: &Query) -> StoreResult<Page> {
        validate_collection(collection)?;
        query.validate()?;
        let (collection, query) = (collection.to_owned(), query.clone());
        self.read(move |conn, exists| match exists(&collection) {
            true => ops::query(conn, &collection, &query),
            false => Ok(Page {
                docs: Vec::new(),
                next_cursor: None,
            }),
        })
        .await
    }

    async fn commit(&self, writes: Vec<Write>) -> StoreResult<Vec<Version>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_text(Utc::now());
        self.write(move |conn, inner| {
            // Tables are only created under the writer lock, so this stays true.
            let exists = |collection: &str| inner.has_table(collection);
            let (versions, created) = ops::commit(conn, &exists, &writes, &now)?;
            inner.add_tables(created);
            Ok(versions)
        })
        .await
    }

    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> StoreResult<()> {
        let statements = indexes
            .iter()
            .map(|spec| Ok((spec.collection.clone(), schema::index_sql(spec)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        self.write(move |conn, inner| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let mut created = Vec::new();
            for (collection, sql) in &statements {
                if !inner.has_table(collection) && !created.contains(collection) {
                    schema::create_table(&tx, collection)?;
                    created.push(collection.clone());
                }
                tx.execute_batch(sql).map_err(db)?;
            }
            tx.commit().map_err(db)?;
            inner.add_tables(created);
            // Fresh statistics let the planner pick, say, the index that
            // serves ORDER BY created_at over one that serves a price range
            // which matches most rows (50 ms vs 0.1 ms over 100k products).
            // Sampled, so it stays fast on large tables.
            conn.execute_batch("PRAGMA analysis_limit=400; ANALYZE;")
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn, _| {
            conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                .map_err(db)?;
            Ok(())
        })
        .await
    }
}
