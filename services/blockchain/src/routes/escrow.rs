//! Escrow on chain: the product service says which deposit to expect for
//! an order and gets what the buyer's wallet needs to make it; on local
//! development chains a faucet gives a buyer's wallet test rupees (and a
//! little native coin for gas) to try it.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall as _;
use axum::extract::State;
use common::identity::Role;
use common::money::Money;
use common::wallet::WalletAddress;
use common::{Caller, Id, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::contracts::DevRupee;
use crate::domain::escrow::{self, EscrowTerms};
use crate::error::BlockchainError;
use crate::state::AppState;

/// The most the faucet gives at once, in minor units (₹1,00,000).
const FAUCET_MAX: i64 = 10_000_000;
/// Native coin the faucet adds for gas (0.05 of the chain's coin).
const FAUCET_GAS_WEI: u128 = 50_000_000_000_000_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(expect))
        .routes(routes!(faucet))
}

/// `POST /blockchain/escrow/orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectDeposit {
    pub order_id: Id,
    /// The order's total, in the payment token's currency.
    pub amount: Money,
}

/// Expect a deposit for an order (the product service, at checkout): the
/// contract, token, order key and amount a wallet deposits. Asking again
/// answers the same terms.
#[utoipa::path(post, path = "/blockchain/escrow/orders", tag = "blockchain",
    security(("bearer" = [])), request_body = ExpectDeposit,
    responses((status = 200, body = EscrowTerms),
        (status = 409, description = "this order's escrow expects another amount (`escrow_terms_changed`)")))]
async fn expect(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ExpectDeposit>,
) -> Result<Json<EscrowTerms>, BlockchainError> {
    caller.require(&[Role::Service, Role::Admin])?;
    Ok(Json(
        escrow::expect(&state, &body.order_id, body.amount).await?,
    ))
}

/// `POST /blockchain/faucet`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaucetRequest {
    #[schema(schema_with = common::schema::wallet_address)]
    pub address: WalletAddress,
    /// Test rupees, minor units (at most ₹1,00,000).
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub amount: i64,
}

/// What the faucet sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FaucetAnswer {
    pub token_tx: String,
    pub gas_tx: String,
}

/// Test rupees for a wallet, on a local development chain only.
#[utoipa::path(post, path = "/blockchain/faucet", tag = "blockchain",
    security(("bearer" = [])), request_body = FaucetRequest,
    responses((status = 200, body = FaucetAnswer),
        (status = 404, description = "not a local development chain (`no_faucet`)"),
        (status = 409, description = "the chain refused the transfer (`chain_reverted`: an address that cannot take it)")))]
async fn faucet(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<FaucetRequest>,
) -> Result<Json<FaucetAnswer>, BlockchainError> {
    if !state.settings.chain.has_faucet() {
        return Err(BlockchainError::NoFaucet);
    }
    caller.require(&[Role::Buyer, Role::Admin])?;
    if !(1..=FAUCET_MAX).contains(&body.amount) {
        return Err(BlockchainError::invalid(
            "amount",
            "out_of_range",
            "between 1 and 10000000 minor units",
        ));
    }
    let to = Address::from(*body.address.as_bytes());
    if to == Address::ZERO {
        return Err(BlockchainError::invalid(
            "address",
            "invalid",
            "the zero address cannot be funded",
        ));
    }
    let transfer = DevRupee::transferCall {
        to,
        value: U256::from(body.amount.unsigned_abs()),
    };
    let token_tx = state
        .chain
        .transact(
            Some(state.contracts.payment_token),
            transfer.abi_encode().into(),
        )
        .await?;
    let gas = state
        .chain
        .sign(Some(to), Default::default(), U256::from(FAUCET_GAS_WEI))
        .await?;
    let gas_tx = state.chain.broadcast(gas).await?;
    state.chain.wait_mined(gas_tx).await?;
    Ok(Json(FaucetAnswer {
        token_tx: format!("{:#x}", token_tx.receipt.transaction_hash),
        gas_tx: format!("{gas_tx:#x}"),
    }))
}
