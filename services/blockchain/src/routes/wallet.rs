//! `GET /blockchain/wallet/{address}/balance`: a wallet's balances and
//! the platform contracts' recent activity for it.

use alloy::primitives::Address;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent as _;
use axum::extract::State;
use common::schema::WALLET_ADDRESS_RULE;
use common::wallet::WalletAddress;
use common::{Caller, Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::contracts::{DevRupee, FairPay, ProvenanceNFT};
use crate::error::BlockchainError;
use crate::state::AppState;

/// Most transactions listed.
const MAX_ACTIVITY: usize = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(balance))
}

/// An ERC-20 balance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenBalance {
    pub token: String,
    pub symbol: String,
    pub decimals: u8,
    /// In the token's smallest unit, as a decimal string.
    pub balance: String,
}

/// Something the platform's contracts did for this wallet.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    /// `payout` (a share of an order's payment) or `provenance-transfer`.
    pub kind: String,
    pub tx_hash: String,
    pub block_number: u64,
    pub contract: String,
    /// For payouts: keccak256 of the order id; for tokens: the token id.
    pub reference: String,
    /// For payouts: the amount in token units.
    pub amount: Option<String>,
    pub token: Option<String>,
    /// For provenance transfers: whether the token came in or went out.
    pub direction: Option<String>,
}

/// `GET /blockchain/wallet/{address}/balance`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WalletView {
    pub address: String,
    pub chain_id: u64,
    pub block_number: u64,
    /// Native coin, in wei.
    pub native_balance: String,
    pub tokens: Vec<TokenBalance>,
    /// Newest first, from the last `history_blocks` blocks.
    pub recent: Vec<Activity>,
}

/// Balances and recent platform activity of a wallet (EIP-55 address).
#[utoipa::path(get, path = "/blockchain/wallet/{address}/balance", tag = "blockchain",
    security(("bearer" = [])),
    params(("address" = String, Path, pattern = "^0x[0-9a-fA-F]{40}$", description = WALLET_ADDRESS_RULE)),
    responses((status = 200, body = WalletView),
        (status = 422, description = "not a checksummed address (the EIP-55 case of its letters is wrong)"),
        (status = 503, description = "the chain node is unavailable")))]
async fn balance(
    State(state): State<AppState>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<WalletView>, BlockchainError> {
    let wallet: WalletAddress = raw.parse().map_err(BlockchainError::InvalidAddress)?;
    let address = Address::from(*wallet.as_bytes());
    let head = state.chain.block_number().await?;
    let native = state.chain.balance(address).await?;

    let mut tokens = Vec::new();
    let configured = std::iter::once(state.contracts.payment_token).chain(
        state
            .settings
            .chain
            .extra_tokens
            .iter()
            .map(|t| Address::from(*t.as_bytes())),
    );
    for token in configured {
        let balance = state
            .chain
            .view(token, DevRupee::balanceOfCall { account: address })
            .await?;
        let symbol = state
            .chain
            .view(token, DevRupee::symbolCall {})
            .await
            .unwrap_or_default();
        let decimals = state
            .chain
            .view(token, DevRupee::decimalsCall {})
            .await
            .unwrap_or(18);
        tokens.push(TokenBalance {
            token: token.to_checksum(None),
            symbol,
            decimals,
            balance: balance.to_string(),
        });
    }

    let from = head.saturating_sub(state.settings.chain.history_blocks);
    let mut recent = Vec::new();
    let payouts = Filter::new()
        .address(state.contracts.fair_pay)
        .event_signature(FairPay::Payout::SIGNATURE_HASH)
        .topic2(address.into_word())
        .from_block(from)
        .to_block(head);
    for log in state.chain.logs(&payouts).await? {
        if let Ok(p) = FairPay::Payout::decode_log_data(log.data()) {
            recent.push(Activity {
                kind: "payout".to_owned(),
                tx_hash: log.transaction_hash.unwrap_or_default().to_string(),
                block_number: log.block_number.unwrap_or_default(),
                contract: state.contracts.fair_pay.to_checksum(None),
                reference: p.orderId.to_string(),
                amount: Some(p.amount.to_string()),
                token: Some(p.token.to_checksum(None)),
                direction: None,
            });
        }
    }
    for (direction, topic) in [("in", 2usize), ("out", 1)] {
        let mut filter = Filter::new()
            .address(state.contracts.provenance)
            .event_signature(ProvenanceNFT::Transfer::SIGNATURE_HASH)
            .from_block(from)
            .to_block(head);
        filter = if topic == 2 {
            filter.topic2(address.into_word())
        } else {
            filter.topic1(address.into_word())
        };
        for log in state.chain.logs(&filter).await? {
            if let Ok(t) = ProvenanceNFT::Transfer::decode_log_data(log.data()) {
                recent.push(Activity {
                    kind: "provenance-transfer".to_owned(),
                    tx_hash: log.transaction_hash.unwrap_or_default().to_string(),
                    block_number: log.block_number.unwrap_or_default(),
                    contract: state.contracts.provenance.to_checksum(None),
                    reference: t.tokenId.to_string(),
                    amount: None,
                    token: None,
                    direction: Some(direction.to_owned()),
                });
            }
        }
    }
    recent.sort_by_key(|a| std::cmp::Reverse(a.block_number));
    recent.truncate(MAX_ACTIVITY);

    Ok(Json(WalletView {
        address: wallet.to_checksum(),
        chain_id: state.settings.chain.chain_id,
        block_number: head,
        native_balance: native.to_string(),
        tokens,
        recent,
    }))
}
