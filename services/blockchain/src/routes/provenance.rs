//! `POST /blockchain/mint-provenance`, `GET /blockchain/provenance/{token_id}`
//! and `GET /blockchain/metadata/{token_id}`: provenance tokens, minted
//! for a product with the hash the service computes, read back from the
//! chain and checked against the product as it is now.

use alloy::primitives::{Address, U256};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::{Caller, Id, Json, Path, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::provenance::{self, MintRecord, Minted, Verification};
use crate::error::BlockchainError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mint))
        .routes(routes!(get_provenance))
        .routes(routes!(get_metadata))
}

/// `POST /blockchain/mint-provenance`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// A product of the caller's (any product for an admin); no such
    /// product is 404.
    pub product_id: Id,
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

impl MintView {
    /// What clients see of `product_id`'s token on `contract`.
    pub fn new(product_id: &str, contract: Address, r: &MintRecord) -> Self {
        Self {
            product_id: product_id.to_owned(),
            token_id: r.token_id.unwrap_or_default().to_string(),
            contract: contract.to_checksum(None),
            owner: r.owner.to_checksum(None),
            product_hash: r.product_hash.to_string(),
            tx_hash: r.tx_hash.map(|h| h.to_string()),
            block_number: r.block_number,
        }
    }
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
    #[schema(schema_with = attribute_value_schema)]
    pub value: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_type: Option<String>,
}

/// A trait's value: text, or an integer (a Unix time when `display_type`
/// is `date`).
fn attribute_value_schema() -> OneOfBuilder {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some(
            "Text, or an integer (a Unix time when `display_type` is `date`).",
        ))
}

impl Attribute {
    fn new(trait_type: &str, value: impl Into<serde_json::Value>) -> Self {
        Self {
            trait_type: trait_type.to_owned(),
            value: value.into(),
            display_type: None,
        }
    }
}

/// What a token id is, for the API description (the pattern says it,
/// bounded below 10^77 < 2^256; leading zeros are refused there though
/// accepted here).
const TOKEN_ID_RULE: &str = "A token id: a positive decimal integer (a uint256).";

/// Parses a token id path segment: a positive decimal integer.
fn token_id(raw: &str) -> Result<U256, BlockchainError> {
    raw.parse::<U256>()
        .ok()
        .filter(|id| !id.is_zero() && raw.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(BlockchainError::InvalidTokenId)
}

/// Mint the provenance token of a product (its artisan or an admin). The
/// product hash is computed here from the product service's data and the
/// media service's sha256s; the token goes to the artisan's wallet, or to
/// the platform's until the artisan adds one.
#[utoipa::path(post, path = "/blockchain/mint-provenance", tag = "blockchain",
    security(("bearer" = [])), request_body = MintRequest,
    responses((status = 201, body = MintView, description = "minted"),
        (status = 202, body = MintView, description = "broadcast, not yet mined"),
        (status = 403, description = "not an artisan or admin, or another artisan's product"),
        (status = 404, description = "no such product"),
        (status = 409, description = "the product already has a token (or one is being minted), \
            a photo of it is missing, or the contract refused"),
        (status = 502, description = "the product, media or auth service answered unexpectedly"),
        (status = 503, description = "the chain node or the product, media or auth service is unavailable")))]
async fn mint(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<MintRequest>,
) -> Result<(StatusCode, Json<MintView>), BlockchainError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let product_id = body.product_id;
    let Some((product, shas)) = provenance::load_product(&state, &product_id).await? else {
        return Err(BlockchainError::ProductNotFound(product_id));
    };
    caller.require_owner_or_admin(&product.artisan_id)?;
    let Minted { record, mined } = provenance::mint(&state, &product, &shas).await?;
    let status = if mined {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    let view = MintView::new(&product_id, state.contracts.provenance, &record);
    Ok((status, Json(view)))
}

/// Read a token from the chain and verify it against the product as it is now.
#[utoipa::path(get, path = "/blockchain/provenance/{token_id}", tag = "blockchain",
    params(("token_id" = String, Path, pattern = "^[1-9][0-9]{0,76}$", description = TOKEN_ID_RULE)),
    responses((status = 200, body = ProvenanceView), (status = 404, description = "no such token"),
        (status = 422, description = "not a token id"),
        (status = 502, description = "the product or media service answered unexpectedly"),
        (status = 503, description = "the chain node or the product or media service is unavailable")))]
async fn get_provenance(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<ProvenanceView>, BlockchainError> {
    let id = token_id(&raw)?;
    let (p, owner) = provenance::chain_record(&state, id).await?;
    let metadata_uri = provenance::token_uri(&state, id).await?;
    let (status, current) = provenance::verify(&state, &p.productId, p.productHash).await?;
    let tx_hash = provenance::minted_tx(&state, &p.productId).await?;
    Ok(Json(ProvenanceView {
        token_id: id.to_string(),
        contract: state.contracts.provenance.to_checksum(None),
        owner: owner.to_checksum(None),
        product_id: p.productId,
        status,
        onchain_hash: p.productHash.to_string(),
        current_hash: current.map(|h| h.to_string()),
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
        tx_hash: tx_hash.map(|h| h.to_string()),
    }))
}

/// The token's ERC-721 metadata, from the chain's record and the product.
#[utoipa::path(get, path = "/blockchain/metadata/{token_id}", tag = "blockchain",
    params(("token_id" = String, Path, pattern = "^[1-9][0-9]{0,76}$", description = TOKEN_ID_RULE)),
    responses((status = 200, body = TokenMetadata), (status = 404, description = "no such token"),
        (status = 422, description = "not a token id"),
        (status = 502, description = "the product service answered unexpectedly"),
        (status = 503, description = "the chain node or the product service is unavailable")))]
async fn get_metadata(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<TokenMetadata>, BlockchainError> {
    let id = token_id(&raw)?;
    let (p, _owner) = provenance::chain_record(&state, id).await?;
    let product = provenance::named_product(&state, &p.productId).await?;
    let public = state.settings.public_url.as_str().trim_end_matches('/');
    let title = product
        .as_ref()
        .map_or("a handmade product", |p| p.title.as_str());
    let mut attributes: Vec<Attribute> = p
        .materials
        .iter()
        .map(|m| Attribute::new("Material", m.as_str()))
        .collect();
    if !p.culturalOrigin.is_empty() {
        attributes.push(Attribute::new("Cultural origin", p.culturalOrigin.as_str()));
    }
    attributes.push(Attribute::new(
        "Fair wage",
        format!("{} {} (minor units)", p.fairWageAmount, p.currency),
    ));
    attributes.push(Attribute::new("Product hash", p.productHash.to_string()));
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
