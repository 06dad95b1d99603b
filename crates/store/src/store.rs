//! [`Store`]: the handle services hold, with typed collections and
//! optimistic multi-document transactions over any [`DocumentStore`].

mod txn;

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use txn::Txn;

use crate::{Collection, DocumentStore, Entity, IndexSpec, SqliteStore, StoreError, StoreResult};

/// How many times [`Store::transact`] runs a transaction that keeps
/// conflicting. Ten: on Firestore an attempt spans three round trips, and
/// two writers of one document at full speed lost five in a row in the
/// conformance suite's increments now and then.
pub const MAX_ATTEMPTS: u32 = 10;

/// The document store handle: cheap to clone, backend chosen at startup.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn DocumentStore>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend())
            .finish()
    }
}

impl Store {
    pub fn new(backend: Arc<dyn DocumentStore>) -> Self {
        Self { inner: backend }
    }

    /// Opens (creating if needed) a SQLite database file. Blocking: call it at
    /// startup, not from a request handler.
    pub fn open_sqlite(path: impl AsRef<Path>) -> StoreResult<Self> {
        Ok(Self::new(Arc::new(SqliteStore::open(path)?)))
    }

    pub fn backend(&self) -> &dyn DocumentStore {
        self.inner.as_ref()
    }

    pub fn collection<T: Entity>(&self) -> Collection<T> {
        Collection::new(Arc::clone(&self.inner))
    }

    pub async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> StoreResult<()> {
        self.inner.ensure_indexes(indexes).await
    }

    pub async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    /// Optimistic transaction: runs `f` against a fresh [`Txn`], then commits
    /// its buffered writes together with a `Verify` of every document it read
    /// but did not write. When the commit fails with [`StoreError::Conflict`]
    /// (something it read changed meanwhile) `f` runs again with a fresh `Txn`,
    /// up to [`MAX_ATTEMPTS`] attempts with a short jittered pause; after the last one the
    /// conflict is returned. An error returned by `f` aborts without writing.
    ///
    /// The closure's future must be `Send` and must not borrow from the
    /// closure itself (see [`TxnFn`]): capture references to the environment.
    ///
    /// ```no_run
    /// # use store::{Entity, Store, StoreError};
    /// # #[derive(serde::Serialize, serde::Deserialize)]
    /// # struct User { name: String }
    /// # impl Entity for User { const COLLECTION: &'static str = "users"; }
    /// # async fn demo(store: Store, renamed: User) -> Result<(), StoreError> {
    /// let found = store
    ///     .transact(async |tx| {
    ///         let user = tx.get::<User>("u1").await?;
    ///         if user.is_some() {
    ///             tx.set("u1", &renamed)?;
    ///         }
    ///         Ok::<_, StoreError>(user.is_some())
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn transact<T, E, F>(
        &self,
        mut f: F,
    ) -> impl Future<Output = Result<T, E>> + Send + use<T, E, F>
    where
        F: for<'t> TxnFn<'t, T, E> + Send,
        T: Send,
        E: From<StoreError> + Send,
    {
        let inner = Arc::clone(&self.inner);
        async move {
            let mut attempt = 1;
            loop {
                let mut txn = Txn::new(Arc::clone(&inner));
                let out = f(&mut txn).await?;
                if let Some(err) = txn.take_deferred() {
                    return Err(err.into());
                }
                match txn.commit().await {
                    Ok(()) => return Ok(out),
                    Err(err) if err.is_conflict() && attempt < MAX_ATTEMPTS => {
                        tracing::debug!(attempt, error = %err, "transaction conflict, retrying");
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        }
    }
}

/// The closure [`Store::transact`] runs: an async closure taking `&mut Txn`
/// (`async |tx| { … }`) whose future is `Send`, so transactions can run in
/// axum handlers and spawned tasks. Implemented for every such closure.
///
/// The closure may capture references to its environment; it may not hand
/// out borrows of values it owns (`async move` closures that lend their
/// captures) nor mutate captured variables: the future of each call must not
/// borrow from the closure itself.
pub trait TxnFn<'t, T, E>:
    AsyncFnMut(&'t mut Txn) -> Result<T, E> + FnMut(&'t mut Txn) -> <Self as TxnFn<'t, T, E>>::Fut
{
    /// The future of one call.
    type Fut: Future<Output = Result<T, E>> + Send;
}

impl<'t, T, E, F, Fut> TxnFn<'t, T, E> for F
where
    F: AsyncFnMut(&'t mut Txn) -> Result<T, E> + FnMut(&'t mut Txn) -> Fut,
    Fut: Future<Output = Result<T, E>> + Send,
{
    type Fut = Fut;
}

/// A random pause in `[base/2, base]`, with `base` 4 ms, 16 ms, 64 ms, then
/// 256 ms.
fn backoff(attempt: u32) -> Duration {
    let base_us: u64 = 1_000 << (2 * attempt.min(4));
    let jitter = RandomState::new().hash_one(attempt) % (base_us / 2 + 1);
    Duration::from_micros(base_us / 2 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_short() {
        for attempt in 1..MAX_ATTEMPTS {
            let pause = backoff(attempt);
            let base = Duration::from_micros(1_000 << (2 * attempt.min(4)));
            assert!(pause >= base / 2 && pause <= base, "{attempt}: {pause:?}");
        }
    }
}
