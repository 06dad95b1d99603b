//! What the blockchain service needs of other services, as narrow traits
//! with an HTTP implementation over `ServiceClient` (the tests bring fakes).
//! Every id is a [`common::Id`], so nothing else ever reaches a URL.

use async_trait::async_trait;
use common::client::{ClientError, ServiceClient};
use common::money::Money;
use common::wallet::WalletAddress;
use common::{Dimensions, Id};
use serde::{Deserialize, Serialize};

/// The part of a product that provenance is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    pub id: Id,
    pub artisan_id: Id,
    pub title: String,
    pub category: String,
    pub subcategory: String,
    pub price: Money,
    pub materials: Vec<String>,
    #[serde(default)]
    pub dimensions: Option<Dimensions>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub craft_tradition: Option<String>,
    #[serde(default)]
    pub media_ids: Vec<Id>,
}

/// The product service.
#[async_trait]
pub trait ProductApi: Send + Sync + 'static {
    /// The product, or `None` if there is no such product (or it is deleted).
    async fn get(&self, id: &Id) -> Result<Option<ProductInfo>, ClientError>;
}

/// The media service: the sha256 of a media item's original bytes.
#[async_trait]
pub trait MediaApi: Send + Sync + 'static {
    async fn sha256(&self, id: &Id) -> Result<Option<String>, ClientError>;
}

/// The auth service: a user's wallet, if they added one.
#[async_trait]
pub trait UserApi: Send + Sync + 'static {
    /// `Ok(None)` when the user has no wallet; `NotFound` as an error.
    async fn wallet(&self, user_id: &Id) -> Result<Option<WalletAddress>, ClientError>;
}

/// `GET /products/{id}` over HTTP.
pub struct HttpProductApi(pub ServiceClient);

#[async_trait]
impl ProductApi for HttpProductApi {
    async fn get(&self, id: &Id) -> Result<Option<ProductInfo>, ClientError> {
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
    async fn sha256(&self, id: &Id) -> Result<Option<String>, ClientError> {
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
    async fn wallet(&self, user_id: &Id) -> Result<Option<WalletAddress>, ClientError> {
        let profile: Profile = self.0.get_json(&format!("/auth/users/{user_id}")).await?;
        Ok(profile.wallet_address)
    }
}
