//! [`SearchIndex`] on a tantivy index in a local directory.
//!
//! One writer behind a mutex, one reader reloaded by hand after each commit
//! (so a write is visible when it returns), and every tantivy call on the
//! blocking thread pool.

mod query;
mod schema;
mod tokenizer;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tantivy::collector::TopDocs;
use tantivy::query::AllQuery;
use tantivy::tokenizer::MAX_TOKEN_LEN;
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

use self::query::TextParser;
use self::schema::{Fields, UPDATED_AT_US};
use super::{IndexStats, SearchDoc, SearchError, SearchIndex, SearchRequest, SearchResults};

/// Memory budget of the index writer, shared by its threads.
const WRITER_HEAP_BYTES: usize = 50_000_000;

/// A full-text index of products stored in one directory.
///
/// Cheap to clone (clones share the index). Searches run concurrently;
/// writes are serialised and each one commits, so prefer [`SearchIndex::rebuild`]
/// for bulk loads.
#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    fields: Fields,
    parser: TextParser,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
}

impl fmt::Debug for TantivyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TantivyIndex")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl TantivyIndex {
    /// Opens the index in `dir`, creating the directory and an empty index
    /// if needed. An index there with another schema (an older build) or
    /// that cannot be opened is deleted with everything else in `dir` and
    /// replaced by an empty one: give the index a directory of its own.
    ///
    /// Blocking (file I/O); call it at start-up or in `spawn_blocking`.
    /// Fails if another `TantivyIndex` (in this or another process) holds
    /// the directory's writer lock.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        let (schema, fields) = Fields::build();
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let existing = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => Some(index),
            other => {
                drop(other);
                if has_index_meta(dir) {
                    wipe(dir)?;
                }
                None
            }
        };
        let index = match existing {
            Some(index) => index,
            None => Index::create_in_dir(dir, schema).map_err(index_error)?,
        };
        schema::register_analyzers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(index_error)?;
        let writer = index.writer(WRITER_HEAP_BYTES).map_err(index_error)?;
        let parser = TextParser::new(&index, &fields);
        Ok(TantivyIndex {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                fields,
                parser,
                reader,
                writer: Mutex::new(writer),
            }),
        })
    }

    /// Runs `work` on the blocking pool.
    async fn blocking<T, F>(&self, work: F) -> Result<T, SearchError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, SearchError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| SearchError::Index(format!("search task failed: {e}")))?
    }
}

impl Inner {
    /// The writer; after a panic in an earlier write its uncommitted
    /// operations are rolled back first.
    fn writer(&self) -> Result<MutexGuard<'_, IndexWriter<TantivyDocument>>, SearchError> {
        match self.writer.lock() {
            Ok(writer) => Ok(writer),
            Err(poisoned) => {
                let mut writer = poisoned.into_inner();
                writer.rollback().map_err(index_error)?;
                self.writer.clear_poison();
                Ok(writer)
            }
        }
    }

    fn id_term(&self, id: &str) -> Result<Term, SearchError> {
        if id.len() > MAX_TOKEN_LEN {
            return Err(SearchError::Index(format!(
                "product id of {} bytes is too long to index",
                id.len()
            )));
        }
        Ok(Term::from_field_text(self.fields.id, id))
    }

    /// Commits the writer's pending operations and makes them visible; rolls
    /// them back if the commit fails.
    fn commit(&self, writer: &mut IndexWriter<TantivyDocument>) -> Result<(), SearchError> {
        if let Err(e) = writer.commit() {
            // Best effort: the commit error is the one to report.
            let _ = writer.rollback();
            return Err(index_error(e));
        }
        self.reader.reload().map_err(index_error)
    }

    fn upsert(&self, doc: &SearchDoc) -> Result<(), SearchError> {
        let term = self.id_term(&doc.id)?;
        let mut writer = self.writer()?;
        writer.delete_term(term);
        if let Err(e) = writer.add_document(self.fields.document(doc)) {
            let _ = writer.rollback();
            return Err(index_error(e));
        }
        self.commit(&mut writer)
    }

    fn remove(&self, id: &str) -> Result<(), SearchError> {
        let term = self.id_term(id)?;
        let mut writer = self.writer()?;
        writer.delete_term(term);
        self.commit(&mut writer)
    }

    fn rebuild(&self, docs: &[SearchDoc]) -> Result<(), SearchError> {
        // The last document of an id wins, as with successive upserts.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(docs.len());
        for (position, doc) in docs.iter().enumerate() {
            self.id_term(&doc.id)?;
            last.insert(doc.id.as_str(), position);
        }
        let mut writer = self.writer()?;
        let staged = writer.delete_all_documents().and_then(|_| {
            for (position, doc) in docs.iter().enumerate() {
                if last.get(doc.id.as_str()) == Some(&position) {
                    writer.add_document(self.fields.document(doc))?;
                }
            }
            Ok(())
        });
        if let Err(e) = staged {
            let _ = writer.rollback();
            return Err(index_error(e));
        }
        self.commit(&mut writer)
    }

    fn stats(&self) -> Result<IndexStats, SearchError> {
        let searcher = self.reader.searcher();
        let newest = searcher
            .search(
                &AllQuery,
                &TopDocs::with_limit(1).order_by_fast_field::<i64>(UPDATED_AT_US, Order::Desc),
            )
            .map_err(index_error)?;
        Ok(IndexStats {
            docs: searcher.num_docs(),
            newest_update_us: newest.first().and_then(|(value, _)| *value).unwrap_or(0),
        })
    }
}

#[async_trait]
impl SearchIndex for TantivyIndex {
    async fn upsert(&self, doc: SearchDoc) -> Result<(), SearchError> {
        self.blocking(move |inner| inner.upsert(&doc)).await
    }

    async fn remove(&self, id: &str) -> Result<(), SearchError> {
        let id = id.to_string();
        self.blocking(move |inner| inner.remove(&id)).await
    }

    async fn rebuild(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        self.blocking(move |inner| inner.rebuild(&docs)).await
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let request = request.clone();
        self.blocking(move |inner| {
            let searcher = inner.reader.searcher();
            query::run(&searcher, &inner.fields, &inner.parser, &request)
        })
        .await
    }

    async fn stats(&self) -> Result<IndexStats, SearchError> {
        self.blocking(Inner::stats).await
    }
}

fn index_error(e: tantivy::TantivyError) -> SearchError {
    SearchError::Index(e.to_string())
}

fn io_error(dir: &Path, e: std::io::Error) -> SearchError {
    SearchError::Index(format!("index directory {}: {e}", dir.display()))
}

/// Whether `dir` holds (what is left of) a tantivy index.
fn has_index_meta(dir: &Path) -> bool {
    dir.join("meta.json").exists()
}

/// Deletes everything in `dir`, keeping `dir` itself.
fn wipe(dir: &Path) -> Result<(), SearchError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| io_error(&path, e))?;
    }
    Ok(())
}
