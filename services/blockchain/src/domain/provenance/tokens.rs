//! Tokens as the chain records them, and whether they still describe
//! their products.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::{SolCall, SolInterface as _};
use common::Id;

use super::{MintRecord, Verification, load_product};
use crate::domain::chain::ChainError;
use crate::domain::contracts::ProvenanceNFT;
use crate::domain::hashing::product_hash;
use crate::error::BlockchainError;
use crate::state::AppState;

/// A view call on the provenance contract.
pub(super) async fn read<C: SolCall>(state: &AppState, call: C) -> Result<C::Return, ChainError> {
    state.chain.view(state.contracts.provenance, call).await
}

/// The chain's record of token `id` and its owner.
pub async fn chain_record(
    state: &AppState,
    id: U256,
) -> Result<(ProvenanceNFT::Provenance, Address), BlockchainError> {
    let record = match read(state, ProvenanceNFT::provenanceCall { tokenId: id }).await {
        Ok(r) => r,
        Err(ChainError::Reverted(data)) => {
            let unknown = data.as_deref().is_none_or(|d| {
                matches!(
                    ProvenanceNFT::ProvenanceNFTErrors::abi_decode(d),
                    Ok(ProvenanceNFT::ProvenanceNFTErrors::ERC721NonexistentToken(
                        _
                    ))
                )
            });
            return Err(if unknown {
                BlockchainError::TokenNotFound(id)
            } else {
                ChainError::Reverted(data).into()
            });
        }
        Err(e) => return Err(e.into()),
    };
    let owner = read(state, ProvenanceNFT::ownerOfCall { tokenId: id }).await?;
    Ok((record, owner))
}

/// Where token `id`'s metadata is (`tokenURI`).
pub async fn token_uri(state: &AppState, id: U256) -> Result<String, BlockchainError> {
    Ok(read(state, ProvenanceNFT::tokenURICall { tokenId: id }).await?)
}

/// Checks the hash a token recorded for `product_id` against the product
/// as it is now: the verdict, and the hash now (`None` once the product is gone).
pub async fn verify(
    state: &AppState,
    product_id: &str,
    recorded: B256,
) -> Result<(Verification, Option<B256>), BlockchainError> {
    let loaded = match Id::parse(product_id) {
        Ok(id) => load_product(state, &id).await?,
        Err(_) => None,
    };
    let Some((product, shas)) = loaded else {
        return Ok((Verification::ProductMissing, None));
    };
    let now = product_hash(&product, &shas);
    let verdict = if now == recorded {
        Verification::Verified
    } else {
        Verification::Mismatch
    };
    Ok((verdict, Some(now)))
}

/// The transaction that minted `product_id`'s token, if this service minted it.
pub async fn minted_tx(
    state: &AppState,
    product_id: &str,
) -> Result<Option<B256>, BlockchainError> {
    Ok(state
        .store
        .collection::<MintRecord>()
        .get(product_id)
        .await?
        .and_then(|r| r.value.tx_hash))
}
