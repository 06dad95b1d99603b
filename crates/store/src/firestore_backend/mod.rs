//! The Firestore backend, over Firestore's gRPC API (the `firestore`
//! crate's authenticated client; the requests are built here).
//!
//! - A service's collections live under one document, its root
//!   (`services/product`), so services sharing a database never meet and
//!   tests can each take a fresh root instead of wiping the emulator.
//! - A document's [`Version`] is its update time.
//! - A commit whose writes carry preconditions (or that verifies documents
//!   it does not write) is a Firestore read-write transaction: the
//!   documents are read in the transaction, which locks them until the
//!   commit, the preconditions are checked against what was read, and the
//!   writes are committed in the same transaction, with the preconditions
//!   repeated on each write. [`Store::transact`](crate::Store::transact)
//!   stays optimistic on top: its reads are plain reads, checked at commit.
//! - Declared indexes are not created at startup: composite indexes are
//!   deployed from `deploy/firestore.indexes.json`.

mod convert;
mod indexes;
mod query;

pub use indexes::{CompositeIndex, FirestoreIndexes, IndexField};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::firestore::gcloud_sdk::google::firestore::v1::{
    self as v1, BatchGetDocumentsRequest, CommitRequest, GetDocumentRequest, RollbackRequest,
    RunQueryRequest, TransactionOptions, batch_get_documents_request, batch_get_documents_response,
    firestore_client::FirestoreClient, precondition::ConditionType, run_query_request,
    transaction_options, write::Operation,
};
use ::firestore::gcloud_sdk::google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use ::firestore::gcloud_sdk::google_cloud_auth::errors::CredentialsError;
use ::firestore::gcloud_sdk::tonic::{Code, Status};
use ::firestore::gcloud_sdk::{GoogleAuthHeaders, GoogleAuthMiddleware, HeaderMap};
use ::firestore::{FirestoreDb, FirestoreDbOptions};
use async_trait::async_trait;

use crate::names::{validate_collection, validate_id};
use crate::{Document, DocumentStore, IndexSpec, Page, Precondition, Query, StoreError};
use crate::{StoreResult, Version, Write};

/// Documents fetched per `BatchGetDocuments` request.
const BATCH_GET: usize = 100;

/// Where a [`FirestoreStore`] keeps its documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirestoreSettings {
    /// The Google Cloud project.
    pub project: String,
    /// The database id, `(default)` unless the project has several.
    pub database: String,
    /// The document the collections live under: an even number of path
    /// segments, such as `services/product`.
    pub root: String,
    /// `host:port` of an emulator, sent the emulators' conventional stub
    /// token. `None`: `FIRESTORE_EMULATOR_HOST` if set, else Firestore
    /// itself with the Application Default Credentials (on Cloud Run, the
    /// service account's).
    pub emulator_host: Option<String>,
    /// The longest one request may take.
    pub timeout: Duration,
    /// Refuse, as production does, a query none of these indexes serves
    /// (the emulator runs any query): for tests and rehearsals.
    pub required_indexes: Option<Arc<FirestoreIndexes>>,
}

/// A [`DocumentStore`] in Firestore (Native mode).
#[derive(Clone)]
pub struct FirestoreStore {
    db: FirestoreDb,
    /// `projects/<p>/databases/<d>`
    database: String,
    /// `projects/<p>/databases/<d>/documents/<root>`
    parent: String,
    timeout: Duration,
    required_indexes: Option<Arc<FirestoreIndexes>>,
}

impl fmt::Debug for FirestoreStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirestoreStore")
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

impl FirestoreStore {
    /// Connects (lazily: nothing is sent until the first request).
    pub async fn connect(settings: &FirestoreSettings) -> StoreResult<Self> {
        let segments: Vec<&str> = settings.root.split('/').collect();
        if !segments.len().is_multiple_of(2) || segments.iter().any(|s| validate_id(s).is_err()) {
            return Err(StoreError::InvalidName(format!(
                "the Firestore root {:?} must name a document (`collection/id`)",
                settings.root
            )));
        }
        let options = FirestoreDbOptions::new(settings.project.clone())
            .with_database_id(settings.database.clone())
            .with_request_timeout(settings.timeout);
        let db = match &settings.emulator_host {
            Some(host) => {
                let options = options.with_firebase_api_url(format!("http://{host}"));
                let auth = GoogleAuthHeaders::from(Credentials::from(EmulatorCredentials::new()));
                FirestoreDb::with_options_auth(options, auth).await
            }
            None => FirestoreDb::with_options(options).await,
        }
        .map_err(StoreError::unavailable)?;
        let database = format!(
            "projects/{}/databases/{}",
            settings.project, settings.database
        );
        Ok(Self {
            parent: format!("{database}/documents/{}", settings.root),
            database,
            db,
            timeout: settings.timeout,
            required_indexes: settings.required_indexes.clone(),
        })
    }

    fn client(&self) -> FirestoreClient<GoogleAuthMiddleware> {
        self.db.client().get()
    }

    fn name(&self, collection: &str, id: &str) -> String {
        format!("{}/{collection}/{id}", self.parent)
    }

    /// Runs one request under the timeout.
    async fn call<T>(&self, request: impl Future<Output = Result<T, Status>>) -> StoreResult<T> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(status)) => Err(unavailable(status)),
            Err(_) => Err(StoreError::unavailable(format!(
                "Firestore did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    /// Reads documents by name, in a new read-write transaction when
    /// `transaction` is set: returns its id and what was found.
    async fn batch_get(
        &self,
        names: Vec<String>,
        transaction: bool,
    ) -> StoreResult<(Vec<u8>, HashMap<String, v1::Document>)> {
        let selector = transaction.then(|| {
            batch_get_documents_request::ConsistencySelector::NewTransaction(TransactionOptions {
                mode: Some(transaction_options::Mode::ReadWrite(
                    transaction_options::ReadWrite::default(),
                )),
            })
        });
        let request = BatchGetDocumentsRequest {
            database: self.database.clone(),
            documents: names,
            consistency_selector: selector,
            ..BatchGetDocumentsRequest::default()
        };
        let mut client = self.client();
        self.call(async move {
            let mut stream = client.batch_get_documents(request).await?.into_inner();
            let mut transaction = Vec::new();
            let mut found = HashMap::new();
            while let Some(response) = stream.message().await? {
                if !response.transaction.is_empty() {
                    transaction = response.transaction;
                }
                if let Some(batch_get_documents_response::Result::Found(doc)) = response.result {
                    found.insert(doc.name.clone(), doc);
                }
            }
            Ok((transaction, found))
        })
        .await
    }

    async fn rollback(&self, transaction: Vec<u8>) {
        let request = RollbackRequest {
            database: self.database.clone(),
            transaction,
            ..RollbackRequest::default()
        };
        let mut client = self.client();
        if let Err(err) = self.call(client.rollback(request)).await {
            // The transaction expires on its own; its locks go with it.
            tracing::debug!(error = %err, "rolling back a Firestore transaction");
        }
    }
}

/// The collection and id of a commit's first write (what a conflict names
/// when Firestore does not say which document it was).
fn first_write(writes: &[Write]) -> (String, String) {
    match writes.first() {
        Some(
            Write::Put { collection, id, .. }
            | Write::Delete { collection, id, .. }
            | Write::Verify { collection, id, .. },
        ) => (collection.clone(), id.clone()),
        None => (String::new(), String::new()),
    }
}

/// A backend failure, with Firestore's status: unavailable for the codes
/// Google's clients retry (and a cancelled call), failed for the others (a
/// missing index or permission, an unknown database…).
fn unavailable(status: Status) -> StoreError {
    let message = format!("Firestore: {:?}: {}", status.code(), status.message());
    match status.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Internal
        | Code::Unknown
        | Code::Cancelled => StoreError::unavailable(message),
        _ => StoreError::failed(message),
    }
}

/// One precondition to check in a commit's transaction.
struct Check<'a> {
    collection: &'a str,
    id: &'a str,
    precondition: Precondition,
}

impl Check<'_> {
    fn verify(&self, found: Option<&v1::Document>) -> StoreResult<()> {
        let version = found
            .map(|doc| convert::document(doc).map(|d| d.version))
            .transpose()?;
        let (collection, id) = (self.collection.to_owned(), self.id.to_owned());
        match (self.precondition, version) {
            (Precondition::Absent, Some(_)) => Err(StoreError::AlreadyExists { collection, id }),
            (Precondition::Exists | Precondition::Version(_), None) => {
                Err(StoreError::NotFound { collection, id })
            }
            (Precondition::Version(expected), Some(actual)) if expected != actual => {
                Err(StoreError::Conflict { collection, id })
            }
            _ => Ok(()),
        }
    }
}

fn fs_precondition(precondition: Precondition) -> v1::Precondition {
    let condition = match precondition {
        Precondition::Absent => ConditionType::Exists(false),
        Precondition::Exists => ConditionType::Exists(true),
        Precondition::Version(v) => ConditionType::UpdateTime(convert::version_timestamp(v)),
    };
    v1::Precondition {
        condition_type: Some(condition),
    }
}

#[async_trait]
impl DocumentStore for FirestoreStore {
    fn backend(&self) -> &'static str {
        "firestore"
    }

    async fn get(&self, collection: &str, id: &str) -> StoreResult<Option<Document>> {
        validate_collection(collection)?;
        if validate_id(id).is_err() {
            return Ok(None);
        }
        let request = GetDocumentRequest {
            name: self.name(collection, id),
            ..GetDocumentRequest::default()
        };
        let mut client = self.client();
        let found = tokio::time::timeout(self.timeout, client.get_document(request)).await;
        match found {
            Ok(Ok(response)) => convert::document(&response.into_inner()).map(Some),
            Ok(Err(status)) if status.code() == Code::NotFound => Ok(None),
            Ok(Err(status)) => Err(unavailable(status)),
            Err(_) => Err(StoreError::unavailable("Firestore did not answer in time")),
        }
    }

    async fn get_many(&self, collection: &str, ids: &[String]) -> StoreResult<Vec<Document>> {
        validate_collection(collection)?;
        let names: Vec<String> = ids
            .iter()
            .filter(|id| validate_id(id).is_ok())
            .map(|id| self.name(collection, id))
            .collect();
        let mut docs = Vec::with_capacity(names.len());
        for chunk in names.chunks(BATCH_GET) {
            let unique: Vec<String> = chunk
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .cloned()
                .collect();
            let (_, found) = self.batch_get(unique, false).await?;
            // In the order asked, once per id asked, like the SQLite backend.
            for name in chunk {
                if let Some(doc) = found.get(name) {
                    docs.push(convert::document(doc)?);
                }
            }
        }
        Ok(docs)
    }

    async fn query(&self, collection: &str, query: &Query) -> StoreResult<Page> {
        validate_collection(collection)?;
        query.validate()?;
        if let Some(indexes) = &self.required_indexes {
            indexes.check(collection, query).map_err(|missing| {
                StoreError::failed(format!("Firestore would refuse this query: {missing}"))
            })?;
        }
        let plan = query::plan(&self.parent, collection, query)?;
        let request = RunQueryRequest {
            parent: self.parent.clone(),
            query_type: Some(run_query_request::QueryType::StructuredQuery(
                plan.structured.clone(),
            )),
            ..RunQueryRequest::default()
        };
        let mut client = self.client();
        let found = self
            .call(async move {
                let mut stream = client.run_query(request).await?.into_inner();
                let mut found = Vec::new();
                while let Some(response) = stream.message().await? {
                    found.extend(response.document);
                }
                Ok(found)
            })
            .await?;
        let mut docs = found
            .iter()
            .map(convert::document)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if docs.len() > query.limit {
            docs.truncate(query.limit);
            docs.last().map(|doc| query.cursor_after(doc))
        } else {
            None
        };
        Ok(Page { docs, next_cursor })
    }

    async fn commit(&self, writes: Vec<Write>) -> StoreResult<Vec<Version>> {
        let mut checks = Vec::new();
        let mut fs_writes = Vec::with_capacity(writes.len());
        let mut names = BTreeSet::new();
        for write in &writes {
            let (collection, id, precondition) = match write {
                Write::Put {
                    collection,
                    id,
                    precondition,
                    ..
                }
                | Write::Delete {
                    collection,
                    id,
                    precondition,
                } => (collection, id, *precondition),
                Write::Verify {
                    collection,
                    id,
                    precondition,
                } => (collection, id, Some(*precondition)),
            };
            validate_collection(collection)?;
            if let Write::Verify { precondition, .. } = write
                && validate_id(id).is_err()
            {
                // A read of an impossible id saw nothing, and still does.
                let check = Check {
                    collection,
                    id,
                    precondition: *precondition,
                };
                check.verify(None)?;
                continue;
            }
            validate_id(id)?;
            let name = self.name(collection, id);
            if !names.insert(name.clone()) {
                return Err(StoreError::InvalidQuery(format!(
                    "{collection}/{id} is written twice in one commit"
                )));
            }
            if let Some(precondition) = precondition {
                checks.push((
                    name.clone(),
                    Check {
                        collection,
                        id,
                        precondition,
                    },
                ));
            }
            let operation = match write {
                Write::Put { data, .. } => Operation::Update(v1::Document {
                    name,
                    fields: convert::data_to_fields(data),
                    ..v1::Document::default()
                }),
                Write::Delete { .. } => Operation::Delete(name),
                Write::Verify { .. } => continue,
            };
            fs_writes.push(v1::Write {
                operation: Some(operation),
                current_document: precondition.map(fs_precondition),
                ..v1::Write::default()
            });
        }
        if writes.is_empty() {
            return Ok(Vec::new());
        }

        let transaction = if checks.is_empty() {
            Vec::new()
        } else {
            let to_read = checks.iter().map(|(name, _)| name.clone()).collect();
            let (transaction, found) = self.batch_get(to_read, true).await?;
            let failed = checks
                .iter()
                .find_map(|(name, check)| check.verify(found.get(name)).err());
            if let Some(err) = failed {
                self.rollback(transaction).await;
                return Err(err);
            }
            if fs_writes.is_empty() {
                self.rollback(transaction).await;
                return Ok(Vec::new());
            }
            transaction
        };

        let in_transaction = !transaction.is_empty();
        let request = CommitRequest {
            database: self.database.clone(),
            writes: fs_writes,
            transaction,
            ..CommitRequest::default()
        };
        let mut client = self.client();
        let response = match tokio::time::timeout(self.timeout, client.commit(request)).await {
            Ok(Ok(response)) => response.into_inner(),
            // Another transaction won the documents, or changed one between
            // our read and our commit: the caller's view is stale.
            Ok(Err(status))
                if in_transaction
                    && matches!(status.code(), Code::Aborted | Code::FailedPrecondition) =>
            {
                let (collection, id) = checks
                    .first()
                    .map(|(_, c)| (c.collection.to_owned(), c.id.to_owned()))
                    .unwrap_or_default();
                tracing::debug!(code = ?status.code(), message = status.message(), "Firestore commit lost a race");
                return Err(StoreError::Conflict { collection, id });
            }
            // Contention outside a transaction: safe to run again.
            Ok(Err(status)) if status.code() == Code::Aborted => {
                let (collection, id) = first_write(&writes);
                return Err(StoreError::Conflict { collection, id });
            }
            // A document Firestore refuses (a reserved name, too deep, too
            // large): the caller's data, not an outage.
            Ok(Err(status)) if status.code() == Code::InvalidArgument => {
                return Err(StoreError::InvalidName(format!(
                    "Firestore refused the write: {}",
                    status.message()
                )));
            }
            Ok(Err(status)) => return Err(unavailable(status)),
            Err(_) => return Err(StoreError::unavailable("Firestore did not answer in time")),
        };
        let mut results = response.write_results.iter();
        let mut versions = Vec::new();
        for write in &writes {
            match write {
                Write::Put { .. } => {
                    let time = results
                        .next()
                        .and_then(|r| r.update_time.as_ref())
                        .or(response.commit_time.as_ref())
                        .and_then(convert::timestamp_to_datetime)
                        .ok_or_else(|| StoreError::failed("commit without update time"))?;
                    versions.push(convert::version_of(&time));
                }
                Write::Delete { .. } => {
                    results.next();
                }
                Write::Verify { .. } => {}
            }
        }
        Ok(versions)
    }

    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> StoreResult<()> {
        // Deployed with `deploy/firestore.indexes.json`; only checked here.
        let mut by_collection: BTreeMap<&str, usize> = BTreeMap::new();
        for spec in indexes {
            validate_collection(&spec.collection)?;
            *by_collection.entry(spec.collection.as_str()).or_default() += 1;
        }
        tracing::debug!(
            ?by_collection,
            "Firestore indexes are deployed, not created"
        );
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        // Any answer from the database will do; an absent document is one.
        self.get("_ping", "ping").await.map(drop)
    }
}

/// Credentials for a Firestore emulator: the stub token the emulators
/// take from their own tools (`Bearer owner`), so that nothing looks for
/// Google credentials on a developer's machine.
#[derive(Debug)]
struct EmulatorCredentials {
    tag: EntityTag,
}

impl EmulatorCredentials {
    fn new() -> Self {
        Self {
            tag: EntityTag::new(),
        }
    }
}

impl CredentialsProvider for EmulatorCredentials {
    async fn headers(
        &self,
        extensions: http::Extensions,
    ) -> Result<CacheableResource<HeaderMap>, CredentialsError> {
        if extensions.get::<EntityTag>() == Some(&self.tag) {
            return Ok(CacheableResource::NotModified);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer owner"),
        );
        Ok(CacheableResource::New {
            entity_tag: self.tag.clone(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}
