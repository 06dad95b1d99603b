//! The signing keys of ID tokens. Keys live in the auth store (production
//! would keep the private half in Secret Manager or KMS; see the README).
//! One key is active and signs; on rotation the previous one stays
//! published in the JWKS until every token it signed has expired. Other
//! instances pick a rotation up on their next refresh.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::config::IdentityConfig;
use common::identity::{
    Authenticator, JwkSet, KeyFetchError, KeySet, KeySource, SigningKey, Verifier, VerifierConfig,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use store::{Collection, Entity, Query, Store, StoreError};
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

/// A stored signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    /// PKCS#8 PEM of the private key.
    pub private_pem: String,
    pub created_at: DateTime<Utc>,
    /// The newest key with `active` signs.
    pub active: bool,
    /// When it leaves the JWKS (set when a newer key replaces it).
    pub retire_at: Option<DateTime<Utc>>,
    /// When it starts signing: a rotated-in key is published first, so
    /// every verifier has it before the first token it signs.
    #[serde(default)]
    pub signs_from: Option<DateTime<Utc>>,
}

impl Entity for StoredKey {
    const COLLECTION: &'static str = "signing_keys";
}

struct Loaded {
    active: Arc<SigningKey>,
    published: Vec<Arc<SigningKey>>,
}

/// The keys, loaded from the store and kept in memory.
#[derive(Clone)]
pub struct KeyRing {
    keys: Collection<StoredKey>,
    store: Store,
    loaded: Arc<RwLock<Loaded>>,
}

impl KeyRing {
    /// Load the keys, creating the first one if there is none.
    pub async fn open(store: &Store) -> anyhow::Result<Self> {
        let keys: Collection<StoredKey> = store.collection();
        let loaded = match load(&keys).await? {
            Some(l) => l,
            None => {
                let key = SigningKey::generate()?;
                let stored = stored(&key);
                match keys.create(key.kid(), &stored).await {
                    Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                load(&keys)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("the first signing key was not saved"))?
            }
        };
        Ok(Self {
            keys,
            store: store.clone(),
            loaded: Arc::new(RwLock::new(loaded)),
        })
    }

    /// The key that signs now.
    pub async fn active(&self) -> Arc<SigningKey> {
        self.loaded.read().await.active.clone()
    }

    /// The published keys, as a JWKS document.
    pub async fn jwks(&self) -> JwkSet {
        let loaded = self.loaded.read().await;
        JwkSet::from_signing_keys(loaded.published.iter().map(AsRef::as_ref))
    }

    /// Re-read the keys (another instance may have rotated).
    pub async fn refresh(&self) -> anyhow::Result<()> {
        if let Some(l) = load(&self.keys).await? {
            *self.loaded.write().await = l;
        }
        Ok(())
    }

    /// Re-read the keys every `every` until `cancel` fires.
    pub async fn keep_fresh(self, cancel: CancellationToken, every: Duration) {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(every) => {
                    if let Err(e) = self.refresh().await {
                        tracing::warn!(error = %e, "signing keys could not be refreshed");
                    }
                }
            }
        }
    }

    /// An authenticator of the tokens `identity` names, verified against
    /// this ring in process.
    pub fn authenticator(&self, identity: &IdentityConfig) -> Authenticator {
        let mut config = VerifierConfig::new(identity.issuer.clone(), identity.audience.clone());
        // The ring is in memory, so asking it again is free: a token signed
        // just after a rotation (an unknown kid) is looked up at once, not
        // after the 30 s refetch interval meant for remote JWKS.
        config.min_refetch_interval = Duration::ZERO;
        Authenticator::new(Verifier::new(config, Arc::new(RingKeys(self.clone()))))
    }

    /// Rotate: a new key is published at once and starts signing at
    /// `signs_from` (now, for an emergency); the keys it replaces stay
    /// published until `overlap` after that, so tokens they signed keep
    /// verifying until they expire.
    pub async fn rotate(
        &self,
        signs_from: DateTime<Utc>,
        overlap: Duration,
    ) -> anyhow::Result<String> {
        let key = SigningKey::generate()?;
        let kid = key.kid().to_owned();
        let retire_at = signs_from + chrono::Duration::from_std(overlap)?;
        let mut new_key = stored(&key);
        new_key.signs_from = Some(signs_from);
        self.store
            .transact(async |tx| {
                let current = tx
                    .query::<StoredKey>(&Query::new().eq("active", true))
                    .await?;
                for mut old in current {
                    if old.value.retire_at.is_none() {
                        old.value.retire_at = Some(retire_at);
                        tx.update(&old)?;
                    }
                }
                tx.create(&kid, &new_key)?;
                Ok::<_, StoreError>(())
            })
            .await?;
        self.refresh().await?;
        tracing::info!(kid, %signs_from, "signing key rotated in");
        Ok(kid)
    }
}

fn stored(key: &SigningKey) -> StoredKey {
    StoredKey {
        kid: key.kid().to_owned(),
        private_pem: key.to_pkcs8_pem().expose_secret().to_owned(),
        created_at: common::time::now(),
        active: true,
        retire_at: None,
        signs_from: None,
    }
}

async fn load(keys: &Collection<StoredKey>) -> anyhow::Result<Option<Loaded>> {
    let (all, _) = keys.query(&Query::new().limit(1000)).await?;
    let now = Utc::now();
    let mut published = Vec::new();
    let mut active: Option<(DateTime<Utc>, Arc<SigningKey>)> = None;
    for doc in all {
        let k = doc.value;
        if k.retire_at.is_some_and(|r| r <= now) {
            continue;
        }
        let key = Arc::new(SigningKey::from_pkcs8_pem(k.kid.clone(), &k.private_pem)?);
        let signing = k.active && k.signs_from.is_none_or(|from| from <= now);
        if signing && active.as_ref().is_none_or(|(at, _)| k.created_at > *at) {
            active = Some((k.created_at, key.clone()));
        }
        published.push(key);
    }
    Ok(active.map(|(_, active)| Loaded { active, published }))
}

/// The auth service verifies its own tokens in-process, from the ring.
struct RingKeys(KeyRing);

#[async_trait]
impl KeySource for RingKeys {
    async fn fetch(&self) -> Result<KeySet, KeyFetchError> {
        let loaded = self.0.loaded.read().await;
        Ok(KeySet {
            keys: loaded
                .published
                .iter()
                .map(|k| (k.kid().to_owned(), k.decoding_key()))
                .collect(),
            max_age: Some(Duration::from_secs(60)),
        })
    }

    fn describe(&self) -> String {
        "the auth service's own key ring".to_owned()
    }
}
