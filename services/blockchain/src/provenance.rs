//! Provenance tokens: minted for a product with the hash the service
//! computes, read back from the chain and checked against the product as
//! it is now.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::Log;
use alloy::sol_types::{SolCall, SolEvent as _, SolInterface as _};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::Role;
use common::money::Money;
use common::{ApiError, Caller, Json, Path};
use events::v1::ProvenanceMinted;
use serde::{Deserialize, Serialize};
use store::{Entity, StoreError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::chain::ChainError;
use crate::clients::ProductInfo;
use crate::contracts::ProvenanceNFT;
use crate::hashing::{artisan_id_hash, product_hash};
use crate::state::AppState;

/// How long a mint in flight holds its product against other mints.
const MINT_LEASE_SECS: i64 = 120;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mint))
        .routes(routes!(get_provenance))
        .routes(routes!(get_metadata))
}

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

/// `POST /blockchain/mint-provenance`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    pub product_id: String,
}

/// A minted token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MintView {
    pub product_id: String,
    pub token_id: String,
    pub contract: String,
    pub owner: String,
    /// keccak256 of the product's canonical data and photo hashes (0x hex).
    pub product_hash: String,
    pub tx_hash: Option<String>,
    pub block_number: Option<u64>,
}

fn view(product_id: &str, contract: Address, r: &MintRecord) -> MintView {
    MintView {
        product_id: product_id.to_owned(),
        token_id: r.token_id.unwrap_or_default().to_string(),
        contract: contract.to_checksum(None),
        owner: r.owner.to_checksum(None),
        product_hash: r.product_hash.to_string(),
        tx_hash: r.tx_hash.map(|h| h.to_string()),
        block_number: r.block_number,
    }
}

fn already_minted(v: &MintView) -> ApiError {
    ApiError::conflict(
        "already-minted",
        format!(
            "product {} already has provenance token {} (contract {})",
            v.product_id, v.token_id, v.contract
        ),
    )
    .with_extension("token", serde_json::to_value(v).unwrap_or_default())
}

/// The product and the sha256 of each of its photos, or 404/409.
async fn load_product(
    state: &AppState,
    id: &str,
) -> Result<Option<(ProductInfo, Vec<String>)>, ApiError> {
    let Some(product) = state.peers.products.get(id).await? else {
        return Ok(None);
    };
    let mut shas = Vec::with_capacity(product.media_ids.len());
    for media_id in &product.media_ids {
        match state.peers.media.sha256(media_id).await? {
            Some(sha) => shas.push(sha),
            // A photo that no longer exists: the hash cannot match.
            None => shas.push(String::new()),
        }
    }
    Ok(Some((product, shas)))
}

/// Mint the provenance token of a product (its artisan or an admin). The
/// product hash is computed here from the product service's data and the
/// media service's sha256s; the token goes to the artisan's wallet, or to
/// the platform's until the artisan adds one.
#[utoipa::path(post, path = "/blockchain/mint-provenance", tag = "blockchain",
    security(("bearer" = [])), request_body = MintRequest,
    responses((status = 201, body = MintView), (status = 202, body = MintView, description = "broadcast, not yet mined"),
        (status = 403), (status = 404), (status = 409, description = "the product already has a token"), (status = 503)))]
async fn mint(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<MintRequest>,
) -> Result<(StatusCode, Json<MintView>), ApiError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let product_id = body.product_id;
    let Some((product, shas)) = load_product(&state, &product_id).await? else {
        return Err(ApiError::not_found(format!("product {product_id}")));
    };
    caller.require_owner_or_admin(&product.artisan_id)?;
    if product
        .media_ids
        .iter()
        .zip(&shas)
        .any(|(_, s)| s.is_empty())
    {
        return Err(ApiError::conflict(
            "media-missing",
            "a photo of this product no longer exists; fix the product first",
        ));
    }
    let hash = product_hash(&product, &shas);
    let contract = state.contracts.provenance;
    let mints = state.store.collection::<MintRecord>();

    // 1. Our record: minted → 409; a mint in flight → 409; a stale one is
    //    finished or forgotten (the chain's guard is checked next anyway).
    if let Some(existing) = mints.get(&product_id).await.map_err(ApiError::internal)? {
        let r = existing.value;
        if r.minted {
            return Err(already_minted(&view(&product_id, contract, &r)));
        }
        if r.lease_until > Utc::now() {
            return Err(ApiError::conflict(
                "mint-in-progress",
                "this product's token is being minted; try again shortly",
            ));
        }
        if let Some(done) = finish_stale(&state, &product_id, &r).await? {
            return Err(already_minted(&done));
        }
    }

    // 2. The chain's guard: one token per product hash.
    if let Some(done) = adopt_existing(&state, &product_id, hash).await? {
        return Err(already_minted(&done));
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
    reserve(&state, &product_id, &reserved).await?;

    let call = ProvenanceNFT::mintProvenanceCall {
        to: owner,
        req: mint_request(&state, &product, hash),
    };
    let signed = match state
        .chain
        .sign(Some(contract), call.abi_encode().into(), U256::ZERO)
        .await
    {
        Ok(signed) => signed,
        Err(err) => {
            let _ = mints.delete(&product_id, None).await;
            if let ChainError::Reverted(_) = err
                && let Some(done) = adopt_existing(&state, &product_id, hash).await?
            {
                return Err(already_minted(&done));
            }
            return Err(err.into());
        }
    };
    let mut record = reserved;
    record.tx_hash = Some(signed.hash);
    record.raw_tx = Some(signed.raw.clone());
    mints
        .set(&product_id, &record)
        .await
        .map_err(ApiError::internal)?;
    if let Err(err) = state.chain.broadcast(signed).await {
        // Kept with its signed transaction: a later request re-sends it.
        return Err(err.into());
    }
    complete(&state, &product_id, record).await
}

/// Waits for the mint's receipt and records the token.
async fn complete(
    state: &AppState,
    product_id: &str,
    mut record: MintRecord,
) -> Result<(StatusCode, Json<MintView>), ApiError> {
    let contract = state.contracts.provenance;
    let Some(tx_hash) = record.tx_hash else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a mint without a transaction"
        )));
    };
    let mined = match state.chain.wait_mined(tx_hash).await {
        Ok(mined) => mined,
        Err(ChainError::Pending(_)) => {
            return Ok((
                StatusCode::ACCEPTED,
                Json(view(product_id, contract, &record)),
            ));
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
            return Err(already_minted(&done));
        }
        return Err(ApiError::conflict(
            "chain-reverted",
            "the mint transaction reverted on chain",
        ));
    };
    record.minted = true;
    record.token_id = Some(event.tokenId);
    record.block_number = Some(mined.block_number);
    record.minted_at = Some(Utc::now());
    record.raw_tx = None;
    let done = view(product_id, contract, &record);
    let emitted = done.clone();
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
            state.publisher.emit(
                tx,
                product_id,
                &ProvenanceMinted {
                    product_id: product_id.to_owned(),
                    token_id: emitted.token_id.clone(),
                    contract: emitted.contract.clone(),
                    tx_hash: emitted.tx_hash.clone().unwrap_or_default(),
                    product_hash: emitted.product_hash.clone(),
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(product_id, token_id = %done.token_id, "provenance minted");
    Ok((StatusCode::CREATED, Json(done)))
}

/// A mint left unfinished by an earlier request or process: re-send its
/// transaction and see whether it mined. `Some` if it did; `None` once it
/// can never be mined (its record is then dropped and a fresh mint may
/// start); 409 while it may still be mined.
async fn finish_stale(
    state: &AppState,
    product_id: &str,
    r: &MintRecord,
) -> Result<Option<MintView>, ApiError> {
    if let (Some(hash), Some(raw)) = (r.tx_hash, &r.raw_tx) {
        let gone = match state.chain.rebroadcast(raw).await {
            Ok(()) => false,
            Err(e) if e.is_nonce_too_low() => !state.chain.has_receipt(hash).await?,
            Err(e) => return Err(e.into()),
        };
        if !gone {
            return match complete(state, product_id, r.clone()).await? {
                (StatusCode::CREATED, Json(done)) => Ok(Some(done)),
                _ => Err(ApiError::conflict(
                    "mint-in-progress",
                    "this product's token is still being minted; try again shortly",
                )),
            };
        }
    }
    state
        .store
        .collection::<MintRecord>()
        .delete(product_id, None)
        .await
        .map_err(ApiError::internal)?;
    Ok(None)
}

/// If the chain already has a token for `hash`, record it and say so.
async fn adopt_existing(
    state: &AppState,
    product_id: &str,
    hash: B256,
) -> Result<Option<MintView>, ApiError> {
    let contract = state.contracts.provenance;
    let token_id = read::<ProvenanceNFT::tokenOfProductCall>(
        state,
        ProvenanceNFT::tokenOfProductCall { productHash: hash },
    )
    .await?;
    if token_id.is_zero() {
        return Ok(None);
    }
    let owner =
        read::<ProvenanceNFT::ownerOfCall>(state, ProvenanceNFT::ownerOfCall { tokenId: token_id })
            .await?;
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
        .await
        .map_err(ApiError::internal)?;
    Ok(Some(view(product_id, contract, &record)))
}

/// Creates the reservation; a concurrent request that got there first → 409.
async fn reserve(state: &AppState, product_id: &str, record: &MintRecord) -> Result<(), ApiError> {
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
        Ok(false) | Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => Err(
            ApiError::conflict("mint-in-progress", "this product's token is being minted"),
        ),
        Err(e) => Err(ApiError::internal(e)),
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
        productId: product.id.clone(),
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

/// A view call on the provenance contract.
async fn read<C: SolCall>(state: &AppState, call: C) -> Result<C::Return, ChainError> {
    state.chain.view(state.contracts.provenance, call).await
}

/// Parses a token id path segment: a positive decimal integer.
fn token_id(raw: &str) -> Result<U256, ApiError> {
    raw.parse::<U256>()
        .ok()
        .filter(|id| !id.is_zero() && raw.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ApiError::invalid_field("token_id", "invalid", "must be a positive integer"))
}

/// The on-chain record of a token, or 404.
async fn on_chain(
    state: &AppState,
    id: U256,
) -> Result<(ProvenanceNFT::Provenance, Address), ApiError> {
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
                ApiError::not_found(format!("provenance token {id}"))
            } else {
                ChainError::Reverted(data).into()
            });
        }
        Err(e) => return Err(e.into()),
    };
    let owner = read(state, ProvenanceNFT::ownerOfCall { tokenId: id }).await?;
    Ok((record, owner))
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

/// A token as the chain records it, checked against the product now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProvenanceView {
    pub token_id: String,
    pub contract: String,
    pub owner: String,
    pub product_id: String,
    pub status: Verification,
    /// The hash recorded on chain at mint time.
    pub onchain_hash: String,
    /// The hash of the product as it is now; null when it no longer exists.
    pub current_hash: Option<String>,
    pub artisan_id_hash: String,
    pub materials: Vec<String>,
    pub cultural_origin: String,
    /// The artisan's share of the price at mint time, in minor units.
    pub fair_wage: FairWage,
    pub minted_at: DateTime<Utc>,
    pub metadata_uri: String,
    pub tx_hash: Option<String>,
}

/// An amount in minor units of a currency, as recorded on chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FairWage {
    pub amount: String,
    pub currency: String,
}

/// Read a token from the chain and verify it against the product as it is now.
#[utoipa::path(get, path = "/blockchain/provenance/{token_id}", tag = "blockchain",
    params(("token_id" = String, Path)),
    responses((status = 200, body = ProvenanceView), (status = 404), (status = 422), (status = 503)))]
async fn get_provenance(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<ProvenanceView>, ApiError> {
    let id = token_id(&raw)?;
    let (p, owner) = on_chain(&state, id).await?;
    let metadata_uri = read(&state, ProvenanceNFT::tokenURICall { tokenId: id }).await?;
    let (status, current) = match load_product(&state, &p.productId).await? {
        None => (Verification::ProductMissing, None),
        Some((product, shas)) => {
            let now = product_hash(&product, &shas);
            let status = if now == p.productHash {
                Verification::Verified
            } else {
                Verification::Mismatch
            };
            (status, Some(now.to_string()))
        }
    };
    let tx_hash = state
        .store
        .collection::<MintRecord>()
        .get(&p.productId)
        .await
        .map_err(ApiError::internal)?
        .and_then(|r| r.value.tx_hash)
        .map(|h| h.to_string());
    Ok(Json(ProvenanceView {
        token_id: id.to_string(),
        contract: state.contracts.provenance.to_checksum(None),
        owner: owner.to_checksum(None),
        product_id: p.productId,
        status,
        onchain_hash: p.productHash.to_string(),
        current_hash: current,
        artisan_id_hash: p.artisanIdHash.to_string(),
        materials: p.materials,
        cultural_origin: p.culturalOrigin,
        fair_wage: FairWage {
            amount: p.fairWageAmount.to_string(),
            currency: p.currency,
        },
        minted_at: DateTime::from_timestamp(i64::try_from(p.timestamp).unwrap_or(0), 0)
            .unwrap_or_default(),
        metadata_uri,
        tx_hash,
    }))
}

/// ERC-721 metadata JSON (what `tokenURI` points at).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenMetadata {
    pub name: String,
    pub description: String,
    pub image: Option<String>,
    pub external_url: String,
    pub attributes: Vec<Attribute>,
}

/// One trait of a token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attribute {
    pub trait_type: String,
    pub value: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_type: Option<String>,
}

fn attribute(trait_type: &str, value: impl Into<serde_json::Value>) -> Attribute {
    Attribute {
        trait_type: trait_type.to_owned(),
        value: value.into(),
        display_type: None,
    }
}

/// The token's ERC-721 metadata, from the chain's record and the product.
#[utoipa::path(get, path = "/blockchain/metadata/{token_id}", tag = "blockchain",
    params(("token_id" = String, Path)),
    responses((status = 200, body = TokenMetadata), (status = 404), (status = 422), (status = 503)))]
async fn get_metadata(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<TokenMetadata>, ApiError> {
    let id = token_id(&raw)?;
    let (p, _owner) = on_chain(&state, id).await?;
    let product = state.peers.products.get(&p.productId).await?;
    let public = state.settings.public_url.as_str().trim_end_matches('/');
    let title = product
        .as_ref()
        .map_or("a handmade product", |p| p.title.as_str());
    let mut attributes: Vec<Attribute> = p
        .materials
        .iter()
        .map(|m| attribute("Material", m.as_str()))
        .collect();
    if !p.culturalOrigin.is_empty() {
        attributes.push(attribute("Cultural origin", p.culturalOrigin.as_str()));
    }
    attributes.push(attribute(
        "Fair wage",
        format!("{} {} (minor units)", p.fairWageAmount, p.currency),
    ));
    attributes.push(attribute("Product hash", p.productHash.to_string()));
    attributes.push(Attribute {
        trait_type: "Minted".to_owned(),
        value: p.timestamp.into(),
        display_type: Some("date".to_owned()),
    });
    Ok(Json(TokenMetadata {
        name: format!("CraftChain provenance #{id}: {title}"),
        description: format!(
            "Certificate of origin for \"{title}\", recorded on chain by CraftChain X. \
             Verify it at {public}/blockchain/provenance/{id}."
        ),
        image: product
            .as_ref()
            .and_then(|p| p.media_ids.first())
            .map(|m| format!("{public}/media/{m}/content/medium.webp")),
        external_url: format!("{public}/products/{}", p.productId),
        attributes,
    }))
}
