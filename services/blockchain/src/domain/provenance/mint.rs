//! Minting a product's token, once: the service's record first (a mint in
//! flight holds its product), the chain's own guard (one token per product
//! hash) next, and the signed transaction kept before it is broadcast.

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::{SolCall as _, SolEvent as _};
use chrono::Utc;
use common::Id;
use common::money::Money;
use events::v1::ProvenanceMinted;
use store::StoreError;

use super::MintRecord;
use super::tokens::read;
use crate::domain::chain::ChainError;
use crate::domain::clients::ProductInfo;
use crate::domain::contracts::ProvenanceNFT;
use crate::domain::hashing::{artisan_id_hash, product_hash};
use crate::error::BlockchainError;
use crate::state::AppState;

/// How long a mint in flight holds its product against other mints.
const MINT_LEASE_SECS: i64 = 120;

/// A mint of this request: mined, or broadcast and not yet mined.
#[derive(Debug)]
pub struct Minted {
    pub record: MintRecord,
    pub mined: bool,
}

/// Mints the token of `product` (whose photos have the sha256s `shas`).
/// The token goes to the artisan's wallet, or to the platform's until the
/// artisan adds one.
pub async fn mint(
    state: &AppState,
    product: &ProductInfo,
    shas: &[String],
) -> Result<Minted, BlockchainError> {
    if shas.iter().any(String::is_empty) {
        return Err(BlockchainError::MediaMissing);
    }
    let product_id = &product.id;
    let hash = product_hash(product, shas);
    let mints = state.store.collection::<MintRecord>();

    // 1. Our record: minted → 409; a mint in flight → 409; a stale one is
    //    finished or forgotten (the chain's guard is checked next anyway).
    if let Some(existing) = mints.get(product_id).await? {
        let r = existing.value;
        if r.minted {
            return Err(already_minted(state, product_id, r));
        }
        if r.lease_until > Utc::now() {
            return Err(BlockchainError::MintInProgress);
        }
        if let Some(done) = finish_stale(state, product_id, &r).await? {
            return Err(already_minted(state, product_id, done));
        }
    }

    // 2. The chain's guard: one token per product hash.
    if let Some(done) = adopt_existing(state, product_id, hash).await? {
        return Err(already_minted(state, product_id, done));
    }

    // 3. Reserve, sign (the simulation catches a revert), keep, broadcast.
    let owner = match state.peers.users.wallet(&product.artisan_id).await {
        Ok(Some(w)) => Address::from(*w.as_bytes()),
        Ok(None) => state.chain.address(),
        Err(e) if e.is_not_found() => state.chain.address(),
        Err(e) => return Err(e.into()),
    };
    let reserved = MintRecord {
        product_hash: hash,
        owner,
        minted: false,
        token_id: None,
        tx_hash: None,
        raw_tx: None,
        block_number: None,
        lease_until: Utc::now() + chrono::Duration::seconds(MINT_LEASE_SECS),
        minted_at: None,
    };
    reserve(state, product_id, &reserved).await?;

    let call = ProvenanceNFT::mintProvenanceCall {
        to: owner,
        req: mint_request(state, product, hash),
    };
    let contract = state.contracts.provenance;
    let signed = match state
        .chain
        .sign(Some(contract), call.abi_encode().into(), U256::ZERO)
        .await
    {
        Ok(signed) => signed,
        Err(err) => {
            let _ = mints.delete(product_id, None).await;
            if let ChainError::Reverted(_) = err
                && let Some(done) = adopt_existing(state, product_id, hash).await?
            {
                return Err(already_minted(state, product_id, done));
            }
            return Err(err.into());
        }
    };
    let mut record = reserved;
    record.tx_hash = Some(signed.hash);
    record.raw_tx = Some(signed.raw.clone());
    mints.set(product_id, &record).await?;
    // On failure it is kept with its signed transaction: a later request re-sends it.
    state.chain.broadcast(signed).await?;
    complete(state, product_id, record).await
}

fn already_minted(state: &AppState, product_id: &Id, record: MintRecord) -> BlockchainError {
    BlockchainError::AlreadyMinted {
        product_id: product_id.clone(),
        contract: state.contracts.provenance,
        record: Box::new(record),
    }
}

/// Waits for the mint's receipt and records the token.
async fn complete(
    state: &AppState,
    product_id: &Id,
    mut record: MintRecord,
) -> Result<Minted, BlockchainError> {
    let contract = state.contracts.provenance;
    let Some(tx_hash) = record.tx_hash else {
        return Err(anyhow::anyhow!("the mint of {product_id} has no transaction").into());
    };
    let mined = match state.chain.wait_mined(tx_hash).await {
        Ok(mined) => mined,
        Err(ChainError::Pending(_)) => {
            return Ok(Minted {
                record,
                mined: false,
            });
        }
        Err(err) => return Err(err.into()),
    };
    let Some(event) = minted_event(mined.logs(), contract) else {
        let _ = state
            .store
            .collection::<MintRecord>()
            .delete(product_id, None)
            .await;
        if let Some(done) = adopt_existing(state, product_id, record.product_hash).await? {
            return Err(already_minted(state, product_id, done));
        }
        return Err(BlockchainError::MintReverted);
    };
    record.minted = true;
    record.token_id = Some(event.tokenId);
    record.block_number = Some(mined.block_number);
    record.minted_at = Some(Utc::now());
    record.raw_tx = None;
    let announced = ProvenanceMinted {
        product_id: product_id.to_string(),
        token_id: event.tokenId.to_string(),
        contract: contract.to_checksum(None),
        tx_hash: tx_hash.to_string(),
        product_hash: record.product_hash.to_string(),
    };
    state
        .store
        .transact(async |tx| {
            if tx
                .get::<MintRecord>(product_id)
                .await?
                .is_some_and(|r| r.value.minted)
            {
                // Finished by a concurrent request: recorded and announced once.
                return Ok(());
            }
            tx.set(product_id, &record)?;
            state.publisher.emit(tx, product_id, &announced)?;
            Ok::<_, StoreError>(())
        })
        .await?;
    tracing::info!(%product_id, token_id = %event.tokenId, "provenance minted");
    Ok(Minted {
        record,
        mined: true,
    })
}

/// A mint left unfinished by an earlier request or process: re-send its
/// transaction and see whether it mined. `Some` if it did; `None` once it
/// can never be mined (its record is then dropped and a fresh mint may
/// start); 409 while it may still be mined.
async fn finish_stale(
    state: &AppState,
    product_id: &Id,
    r: &MintRecord,
) -> Result<Option<MintRecord>, BlockchainError> {
    if let (Some(hash), Some(raw)) = (r.tx_hash, &r.raw_tx) {
        let gone = match state.chain.rebroadcast(raw).await {
            Ok(()) => false,
            Err(e) if e.is_nonce_too_low() => !state.chain.has_receipt(hash).await?,
            Err(e) => return Err(e.into()),
        };
        if !gone {
            return match complete(state, product_id, r.clone()).await? {
                Minted {
                    record,
                    mined: true,
                } => Ok(Some(record)),
                Minted { mined: false, .. } => Err(BlockchainError::MintInProgress),
            };
        }
    }
    state
        .store
        .collection::<MintRecord>()
        .delete(product_id, None)
        .await?;
    Ok(None)
}

/// If the chain already has a token for `hash`, record it and return it.
async fn adopt_existing(
    state: &AppState,
    product_id: &Id,
    hash: B256,
) -> Result<Option<MintRecord>, BlockchainError> {
    let token_id = read(
        state,
        ProvenanceNFT::tokenOfProductCall { productHash: hash },
    )
    .await?;
    if token_id.is_zero() {
        return Ok(None);
    }
    let owner = read(state, ProvenanceNFT::ownerOfCall { tokenId: token_id }).await?;
    let record = MintRecord {
        product_hash: hash,
        owner,
        minted: true,
        token_id: Some(token_id),
        tx_hash: None,
        raw_tx: None,
        block_number: None,
        lease_until: Utc::now(),
        minted_at: Some(Utc::now()),
    };
    state
        .store
        .collection::<MintRecord>()
        .set(product_id, &record)
        .await?;
    Ok(Some(record))
}

/// Creates the reservation; a concurrent request that got there first → 409.
async fn reserve(
    state: &AppState,
    product_id: &Id,
    record: &MintRecord,
) -> Result<(), BlockchainError> {
    let result = state
        .store
        .transact(async |tx| {
            if let Some(existing) = tx.get::<MintRecord>(product_id).await? {
                if existing.value.minted || existing.value.lease_until > Utc::now() {
                    return Ok(false);
                }
                tx.update(&store::Versioned {
                    value: record.clone(),
                    ..existing
                })?;
            } else {
                tx.create(product_id, record)?;
            }
            Ok::<_, StoreError>(true)
        })
        .await;
    match result {
        Ok(true) => Ok(()),
        Ok(false) | Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
            Err(BlockchainError::MintInProgress)
        }
        Err(e) => Err(e.into()),
    }
}

fn mint_request(state: &AppState, product: &ProductInfo, hash: B256) -> ProvenanceNFT::MintRequest {
    let origin = [
        product.craft_tradition.as_deref(),
        product.region.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let wage = fair_wage(&product.price, state.settings.default_split.artisan);
    ProvenanceNFT::MintRequest {
        productId: product.id.to_string(),
        productHash: hash,
        artisanIdHash: artisan_id_hash(&product.artisan_id),
        materials: product.materials.clone(),
        culturalOrigin: origin,
        fairWageAmount: U256::from(wage.amount.max(0).unsigned_abs()),
        currency: wage.currency.code().to_owned(),
        metadataURI: String::new(),
    }
}

/// The artisan's share of the price.
fn fair_wage(price: &Money, artisan_bps: u16) -> Money {
    price.basis_points(artisan_bps)
}

fn minted_event(logs: &[Log], contract: Address) -> Option<ProvenanceNFT::ProvenanceMinted> {
    logs.iter()
        .filter(|l| l.address() == contract)
        .find_map(|l| ProvenanceNFT::ProvenanceMinted::decode_log_data(l.data()).ok())
}
