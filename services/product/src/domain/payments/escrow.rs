//! The escrow way in: the blockchain service is told which deposit to
//! expect for an order and answers what the buyer's wallet needs to make
//! it (the contract, the token, the order's key, the amount in token
//! units). The deposit itself is confirmed by its `payment.received` event.

use async_trait::async_trait;
use common::Money;
use common::client::{CallOptions, ClientError, ServiceClient};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a wallet needs to deposit an order's amount into escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscrowTerms {
    pub order_id: String,
    pub chain_id: u64,
    /// The fair-pay contract (EIP-55).
    pub contract: String,
    /// The payment token to approve and deposit (EIP-55).
    pub token: String,
    /// The order's key in the contract: keccak256 of its id (0x-hex).
    pub order_key: String,
    /// The order's total.
    pub amount: Money,
    /// The same in the token's smallest units (a decimal string).
    pub token_amount: String,
    /// Where the chain is, on a local development chain.
    #[serde(default)]
    pub rpc_url: Option<String>,
}

/// What the product service asks of the blockchain service.
#[async_trait]
pub trait EscrowApi: Send + Sync + 'static {
    /// Expect a deposit of `amount` for `order_id` (idempotent).
    async fn expect(&self, order_id: &str, amount: Money) -> Result<EscrowTerms, ClientError>;
}

/// `POST /blockchain/escrow/orders` over HTTP, as this service.
pub struct HttpEscrowApi(pub ServiceClient);

#[derive(Serialize)]
struct Expect<'a> {
    order_id: &'a str,
    amount: Money,
}

#[async_trait]
impl EscrowApi for HttpEscrowApi {
    async fn expect(&self, order_id: &str, amount: Money) -> Result<EscrowTerms, ClientError> {
        let options = CallOptions {
            as_service: true,
            idempotency_key: Some(format!("escrow-{order_id}")),
            ..CallOptions::default()
        };
        self.0
            .post_json(
                "/blockchain/escrow/orders",
                &Expect { order_id, amount },
                &options,
            )
            .await
    }
}
