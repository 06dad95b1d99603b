//! What the blockchain service needs of other services, as narrow traits
//! with an HTTP implementation over `ServiceClient` and a fake for tests.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use common::client::{ClientError, ServiceClient};
use common::money::Money;
use common::wallet::WalletAddress;
use serde::{Deserialize, Serialize};

/// The part of a product that provenance is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    pub id: String,
    pub artisan_id: String,
    pub title: String,
    pub category: String,
    pub subcategory: String,
    pub price: Money,
    pub materials: Vec<String>,
    #[serde(default)]
    pub dimensions: Option<serde_json::Value>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub craft_tradition: Option<String>,
    #[serde(default)]
    pub media_ids: Vec<String>,
}

/// The product service.
#[async_trait]
pub trait ProductApi: Send + Sync + 'static {
    /// The product, or `None` if there is no such product (or it is deleted).
    async fn get(&self, id: &str) -> Result<Option<ProductInfo>, ClientError>;
}

/// The media service: the sha256 of a media item's original bytes.
#[async_trait]
pub trait MediaApi: Send + Sync + 'static {
    async fn sha256(&self, id: &str) -> Result<Option<String>, ClientError>;
}

/// The auth service: a user's wallet, if they added one.
#[async_trait]
pub trait UserApi: Send + Sync + 'static {
    /// `Ok(None)` when the user has no wallet; `NotFound` as an error.
    async fn wallet(&self, user_id: &str) -> Result<Option<WalletAddress>, ClientError>;
}

/// Ids are `[A-Za-z0-9_-]`; anything else cannot exist and is never put in a URL.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /products/{id}` over HTTP.
pub struct HttpProductApi(pub ServiceClient);

#[async_trait]
impl ProductApi for HttpProductApi {
    async fn get(&self, id: &str) -> Result<Option<ProductInfo>, ClientError> {
        if !plausible_id(id) {
            return Ok(None);
        }
        match self.0.get_json(&format!("/products/{id}")).await {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `GET /media/{id}` over HTTP.
pub struct HttpMediaApi(pub ServiceClient);

#[derive(Deserialize)]
struct MediaInfo {
    sha256: String,
}

#[async_trait]
impl MediaApi for HttpMediaApi {
    async fn sha256(&self, id: &str) -> Result<Option<String>, ClientError> {
        if !plausible_id(id) {
            return Ok(None);
        }
        match self.0.get_json::<MediaInfo>(&format!("/media/{id}")).await {
            Ok(m) => Ok(Some(m.sha256)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `GET /auth/users/{id}` (public profile) over HTTP.
pub struct HttpUserApi(pub ServiceClient);

#[derive(Deserialize)]
struct Profile {
    wallet_address: Option<WalletAddress>,
}

#[async_trait]
impl UserApi for HttpUserApi {
    async fn wallet(&self, user_id: &str) -> Result<Option<WalletAddress>, ClientError> {
        let profile: Profile = self.0.get_json(&format!("/auth/users/{user_id}")).await?;
        Ok(profile.wallet_address)
    }
}

/// Products, media and users in memory, for tests.
#[derive(Default)]
pub struct Fakes {
    products: Mutex<HashMap<String, ProductInfo>>,
    media: Mutex<HashMap<String, String>>,
    wallets: Mutex<HashMap<String, WalletAddress>>,
}

impl Fakes {
    pub fn put_product(&self, product: ProductInfo) {
        if let Ok(mut products) = self.products.lock() {
            products.insert(product.id.clone(), product);
        }
    }

    pub fn remove_product(&self, id: &str) {
        if let Ok(mut products) = self.products.lock() {
            products.remove(id);
        }
    }

    pub fn put_media(&self, id: &str, sha256: &str) {
        if let Ok(mut media) = self.media.lock() {
            media.insert(id.to_owned(), sha256.to_owned());
        }
    }

    pub fn put_wallet(&self, user_id: &str, wallet: WalletAddress) {
        if let Ok(mut wallets) = self.wallets.lock() {
            wallets.insert(user_id.to_owned(), wallet);
        }
    }
}

#[async_trait]
impl ProductApi for Fakes {
    async fn get(&self, id: &str) -> Result<Option<ProductInfo>, ClientError> {
        Ok(self.products.lock().ok().and_then(|p| p.get(id).cloned()))
    }
}

#[async_trait]
impl MediaApi for Fakes {
    async fn sha256(&self, id: &str) -> Result<Option<String>, ClientError> {
        Ok(self.media.lock().ok().and_then(|m| m.get(id).cloned()))
    }
}

#[async_trait]
impl UserApi for Fakes {
    async fn wallet(&self, user_id: &str) -> Result<Option<WalletAddress>, ClientError> {
        Ok(self
            .wallets
            .lock()
            .ok()
            .and_then(|w| w.get(user_id).copied()))
    }
}
