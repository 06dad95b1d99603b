//! Blob storage through `object_store`: a local directory by default,
//! Cloud Storage in production, chosen by configuration (media's images,
//! analytics' reports).

pub mod gcs;

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutPayload};

use self::gcs::{Gcs, GcsError};
use serde::Deserialize;

/// Where blobs live.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum BlobConfig {
    /// A directory (default: the service's own folder of the data dir).
    Local { root: Option<std::path::PathBuf> },
    /// A Cloud Storage bucket over the JSON API, authenticated as the
    /// service account (Cloud Run's metadata server); `endpoint` points
    /// elsewhere than Google's API, and `emulator` (fake-gcs-server) sends
    /// requests without a token.
    Gcs {
        bucket: String,
        endpoint: Option<String>,
        #[serde(default)]
        emulator: bool,
    },
}

impl Default for BlobConfig {
    fn default() -> Self {
        BlobConfig::Local { root: None }
    }
}

impl BlobConfig {
    /// What is wrong with this configuration, if anything.
    pub fn problems(&self) -> Vec<String> {
        match self {
            BlobConfig::Gcs { bucket, .. } if bucket.trim().is_empty() => {
                vec!["blobs.bucket must be set for gcs".to_owned()]
            }
            _ => Vec::new(),
        }
    }
}

/// What can go wrong with a blob.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error(transparent)]
    Local(#[from] object_store::Error),
    #[error(transparent)]
    Gcs(#[from] GcsError),
}

impl BlobError {
    /// Whether the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Local(object_store::Error::NotFound { .. }) | Self::Gcs(GcsError::NotFound(_))
        )
    }

    /// Whether trying again later may succeed: Cloud Storage unreachable,
    /// throttling (429) or failing (5xx), or no access token to be had.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Gcs(GcsError::Transport(_) | GcsError::Token(_)) => true,
            Self::Gcs(GcsError::Status { status, .. }) => {
                status.is_server_error() || *status == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }

    /// The problem for a blob failure its caller has no answer of its own
    /// for: an unavailable store is 503 with `Retry-After`, anything else
    /// is 500.
    pub fn into_problem(self) -> common::error::ApiError {
        if self.is_unavailable() {
            common::error::ApiError::unavailable(
                BLOB_RETRY,
                "file storage is unavailable just now; try again shortly",
            )
            .with_source(self)
        } else {
            common::error::ApiError::internal(self)
        }
    }
}

/// How long a client is asked to wait when blob storage is down.
pub const BLOB_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Bytes of one stored object, as a stream.
pub struct Blob {
    /// The whole object's size.
    pub size: u64,
    /// The bytes returned.
    pub range: Range<u64>,
    pub stream: BoxStream<'static, Result<Bytes, BlobError>>,
}

#[derive(Clone)]
enum Backend {
    Local(Arc<dyn ObjectStore>),
    Gcs(Gcs),
}

/// The blob store.
#[derive(Clone)]
pub struct BlobStore {
    inner: Backend,
}

impl BlobStore {
    /// `metadata`: the metadata server, for Cloud Storage's access tokens.
    pub fn open(
        config: &BlobConfig,
        default_root: &FsPath,
        metadata: &url::Url,
    ) -> anyhow::Result<Self> {
        let inner = match config {
            BlobConfig::Local { root } => {
                let root = root.clone().unwrap_or_else(|| default_root.to_path_buf());
                std::fs::create_dir_all(&root)?;
                Backend::Local(Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(root)?,
                ))
            }
            BlobConfig::Gcs {
                bucket,
                endpoint,
                emulator,
            } => Backend::Gcs(Gcs::new(bucket, endpoint.as_deref(), *emulator, metadata)?),
        };
        Ok(Self { inner })
    }

    pub fn backend(&self) -> &'static str {
        match self.inner {
            Backend::Local(_) => "local",
            Backend::Gcs(_) => "gcs",
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        match &self.inner {
            Backend::Local(store) => store
                .put(&Path::from(key), PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(BlobError::from),
            Backend::Gcs(gcs) => gcs.put(key, bytes).await.map_err(BlobError::from),
        }
    }

    /// The object, or a byte range of it.
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Blob, BlobError> {
        match &self.inner {
            Backend::Local(store) => {
                let options = GetOptions {
                    range: range.map(GetRange::Bounded),
                    ..GetOptions::default()
                };
                let result = store.get_opts(&Path::from(key), options).await?;
                let size = result.meta.size;
                let range = result.range.clone();
                Ok(Blob {
                    size,
                    range,
                    stream: result
                        .into_stream()
                        .map(|c| c.map_err(BlobError::from))
                        .boxed(),
                })
            }
            Backend::Gcs(gcs) => {
                let (size, range, stream) = gcs.get(key, range).await?;
                Ok(Blob {
                    size,
                    range,
                    stream: stream.map(|c| c.map_err(BlobError::from)).boxed(),
                })
            }
        }
    }

    /// The whole object in memory (originals, for re-deriving variants).
    pub async fn read(&self, key: &str) -> Result<Bytes, BlobError> {
        let blob = self.get(key, None).await?;
        let mut out = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
        let mut stream = blob.stream;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(Bytes::from(out))
    }

    /// Delete; an absent object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let result = match &self.inner {
            Backend::Local(store) => store
                .delete(&Path::from(key))
                .await
                .map_err(BlobError::from),
            Backend::Gcs(gcs) => gcs.delete(key).await.map_err(BlobError::from),
        };
        match result {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn status(status: StatusCode) -> BlobError {
        BlobError::Gcs(GcsError::Status {
            what: "object a".to_owned(),
            status,
            body: String::new(),
        })
    }

    #[test]
    fn cloud_storage_failing_or_throttling_is_503_and_a_refusal_500() {
        for code in [
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            let problem = status(code).into_problem();
            assert_eq!(problem.status(), StatusCode::SERVICE_UNAVAILABLE, "{code}");
        }
        for code in [StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST] {
            let problem = status(code).into_problem();
            assert_eq!(
                problem.status(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "{code}"
            );
        }
        assert!(!BlobError::Gcs(GcsError::NotFound("a".into())).is_unavailable());
    }
}
