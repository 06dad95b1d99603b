//! The product, media and auth services in memory: what the blockchain
//! service asks of its peers, set by each test.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use blockchain::domain::clients::{MediaApi, ProductApi, ProductInfo, UserApi};
use common::Id;
use common::client::ClientError;
use common::wallet::WalletAddress;

/// Products, media and users in memory.
#[derive(Default)]
pub(crate) struct Fakes {
    products: Mutex<HashMap<String, ProductInfo>>,
    media: Mutex<HashMap<String, String>>,
    wallets: Mutex<HashMap<String, WalletAddress>>,
}

impl Fakes {
    pub(crate) fn put_product(&self, product: ProductInfo) {
        let mut products = self.products.lock().unwrap();
        products.insert(product.id.to_string(), product);
    }

    pub(crate) fn remove_product(&self, id: &str) {
        self.products.lock().unwrap().remove(id);
    }

    pub(crate) fn put_media(&self, id: &str, sha256: &str) {
        let mut media = self.media.lock().unwrap();
        media.insert(id.to_owned(), sha256.to_owned());
    }

    pub(crate) fn put_wallet(&self, user_id: &str, wallet: WalletAddress) {
        let mut wallets = self.wallets.lock().unwrap();
        wallets.insert(user_id.to_owned(), wallet);
    }
}

#[async_trait]
impl ProductApi for Fakes {
    async fn get(&self, id: &Id) -> Result<Option<ProductInfo>, ClientError> {
        Ok(self.products.lock().unwrap().get(id.as_str()).cloned())
    }
}

#[async_trait]
impl MediaApi for Fakes {
    async fn sha256(&self, id: &Id) -> Result<Option<String>, ClientError> {
        Ok(self.media.lock().unwrap().get(id.as_str()).cloned())
    }
}

#[async_trait]
impl UserApi for Fakes {
    async fn wallet(&self, user_id: &Id) -> Result<Option<WalletAddress>, ClientError> {
        Ok(self.wallets.lock().unwrap().get(user_id.as_str()).copied())
    }
}
