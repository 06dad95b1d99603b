//! Provenance tokens: minted for a product with the hash the service
//! computes ([`mint`]), read back from the chain and checked against the
//! product as it is now ([`chain_record`], [`verify`]).

mod mint;
mod tokens;

use alloy::primitives::{Address, B256, Bytes, U256};
use chrono::{DateTime, Utc};
use common::Id;
use serde::{Deserialize, Serialize};
use store::Entity;
use utoipa::ToSchema;

pub use mint::{Minted, mint};
pub use tokens::{chain_record, minted_tx, token_uri, verify};

use crate::domain::clients::ProductInfo;
use crate::error::BlockchainError;
use crate::state::AppState;

/// The service's record of a product's token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MintRecord {
    pub product_hash: B256,
    pub owner: Address,
    pub minted: bool,
    pub token_id: Option<U256>,
    pub tx_hash: Option<B256>,
    /// The signed transaction, kept before it is broadcast.
    pub raw_tx: Option<Bytes>,
    pub block_number: Option<u64>,
    pub lease_until: DateTime<Utc>,
    pub minted_at: Option<DateTime<Utc>>,
}

impl Entity for MintRecord {
    const COLLECTION: &'static str = "mints";
}

/// Whether a token still describes its product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// The product's current data hashes to the token's product hash.
    Verified,
    /// The product changed (or a photo was replaced) since the mint.
    Mismatch,
    /// The product no longer exists.
    ProductMissing,
}

/// The product and the sha256 of each of its photos (empty for a photo
/// that no longer exists), or `None` if there is no such product.
pub async fn load_product(
    state: &AppState,
    id: &Id,
) -> Result<Option<(ProductInfo, Vec<String>)>, BlockchainError> {
    let Some(product) = state.peers.products.get(id).await? else {
        return Ok(None);
    };
    let mut shas = Vec::with_capacity(product.media_ids.len());
    for media_id in &product.media_ids {
        // A photo that no longer exists: the hash cannot match.
        shas.push(
            state
                .peers
                .media
                .sha256(media_id)
                .await?
                .unwrap_or_default(),
        );
    }
    Ok(Some((product, shas)))
}

/// The product a token names (a name that is not an id names none).
pub async fn named_product(
    state: &AppState,
    product_id: &str,
) -> Result<Option<ProductInfo>, BlockchainError> {
    match Id::parse(product_id) {
        Ok(id) => Ok(state.peers.products.get(&id).await?),
        Err(_) => Ok(None),
    }
}
