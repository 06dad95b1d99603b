//! Blob storage through `object_store`: a local directory by default,
//! Cloud Storage in production, chosen by configuration.

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutPayload};

use crate::config::BlobConfig;

/// Bytes of one stored object, as a stream.
pub struct Blob {
    /// The whole object's size.
    pub size: u64,
    /// The bytes returned.
    pub range: Range<u64>,
    pub stream: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

/// The blob store.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    backend: &'static str,
}

impl BlobStore {
    pub fn open(config: &BlobConfig, default_root: &FsPath) -> anyhow::Result<Self> {
        Ok(match config {
            BlobConfig::Local { root } => {
                let root = root.clone().unwrap_or_else(|| default_root.to_path_buf());
                std::fs::create_dir_all(&root)?;
                Self {
                    inner: Arc::new(object_store::local::LocalFileSystem::new_with_prefix(root)?),
                    backend: "local",
                }
            }
            BlobConfig::Gcs { bucket, endpoint } => {
                let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket);
                if let Some(url) = endpoint {
                    builder = builder.with_url(url);
                }
                Self {
                    inner: Arc::new(builder.build()?),
                    backend: "gcs",
                }
            }
        })
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        self.inner
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
    }

    /// The object, or a byte range of it.
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<Blob, object_store::Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.inner.get_opts(&Path::from(key), options).await?;
        let size = result.meta.size;
        let range = result.range.clone();
        Ok(Blob {
            size,
            range,
            stream: result.into_stream().boxed(),
        })
    }

    /// The whole object in memory (originals, for re-deriving variants).
    pub async fn read(&self, key: &str) -> Result<Bytes, object_store::Error> {
        self.inner.get(&Path::from(key)).await?.bytes().await
    }

    /// Delete; an absent object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
