//! The blockchain service's errors and the one place they become problems.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use common::wallet::AddressError;
use common::{ApiError, ClientError, Id};
use store::StoreError;

use crate::domain::chain::ChainError;
use crate::domain::payments::Payment;
use crate::domain::provenance::MintRecord;
use crate::routes::payments::PaymentView;
use crate::routes::provenance::MintView;

common::problem_codes! {
    /// 409: the contract refused this order's payment.
    PAYMENT_REFUSED = "payment_refused",
    /// 409: the order's payment is being made; ask again shortly.
    PAYMENT_IN_PROGRESS = "payment_in_progress",
    /// 409: the order already has a payment with other terms.
    PAYMENT_CONFLICT = "payment_conflict",
    /// 409: the product already has a provenance token.
    ALREADY_MINTED = "already_minted",
    /// 409: a photo of the product no longer exists.
    MEDIA_MISSING = "media_missing",
    /// 409: the product's token is being minted.
    MINT_IN_PROGRESS = "mint_in_progress",
    /// 409: the contract refused the transaction.
    CHAIN_REVERTED = "chain_reverted",
    /// 409: no money was received for this order: nothing is paid out.
    NO_RECEIPT = "no_receipt",
    /// 409: the amount asked is not what was received for the order.
    AMOUNT_NOT_RECEIVED = "amount_not_received",
    /// 409: the order's escrow was set up for another amount.
    ESCROW_TERMS_CHANGED = "escrow_terms_changed",
    /// 404: the faucet exists only on local development chains.
    NO_FAUCET = "no_faucet",
}

/// Everything a request, the reconciler or a mint can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BlockchainError {
    /// 409 `payment_conflict`: the order already has a payment with other
    /// terms; the problem carries that `payment`.
    #[error("order {order_id} already has a payment with other terms")]
    PaymentConflict {
        order_id: String,
        payment: Box<Payment>,
    },
    /// 409 `payment_refused`: the contract refused this order's payment;
    /// the problem carries the `payment`.
    #[error("{}", .payment.last_error.as_deref().unwrap_or("the contract refused this payment"))]
    PaymentRefused {
        order_id: String,
        payment: Box<Payment>,
    },
    /// 409 `payment_in_progress` (`Retry-After: 1`): another request holds
    /// the order's payment and has not signed it yet.
    #[error("this order's payment is being made; ask again shortly")]
    PaymentInProgress,
    /// 503 `unavailable` (`Retry-After: 60`): the payment reverts, but not by
    /// the contract's own refusal (the payer short of tokens or gas).
    #[error("the payment reverts (is the payer funded and approved?)")]
    PaymentReverts,
    /// 404 `not_found`: no payment of this order.
    #[error("payment of order {0} not found")]
    PaymentNotFound(String),
    /// 404 `not_found`: no such product.
    #[error("product {0} not found")]
    ProductNotFound(Id),
    /// 409 `already_minted`: the product has a token; the problem carries it
    /// as `token`.
    #[error(
        "product {product_id} already has provenance token {} (contract {})",
        .record.token_id.unwrap_or_default(),
        .contract.to_checksum(None)
    )]
    AlreadyMinted {
        product_id: Id,
        contract: Address,
        record: Box<MintRecord>,
    },
    /// 409 `media_missing`: a photo of the product no longer exists.
    #[error("a photo of this product no longer exists; fix the product first")]
    MediaMissing,
    /// 409 `mint_in_progress`: another request is minting the product's token.
    #[error("this product's token is being minted; try again shortly")]
    MintInProgress,
    /// 409 `chain_reverted`: the mint transaction was mined but reverted.
    #[error("the mint transaction reverted on chain")]
    MintReverted,
    /// 404 `not_found`: no such provenance token.
    #[error("provenance token {0} not found")]
    TokenNotFound(U256),
    /// 409 `no_receipt`: nothing was received for the order (or it was
    /// cancelled), so nothing is paid out, whoever asks.
    #[error("no money was received for order {0}: nothing is paid out")]
    NoReceipt(String),
    /// 409 `amount_not_received`: the amount asked is not what was received.
    #[error("{asked} was asked, but {received} was received for this order")]
    AmountNotReceived {
        asked: common::Money,
        received: common::Money,
    },
    /// 409 `escrow_terms_changed`: the order's escrow expects another amount.
    #[error("this order's escrow was set up for another amount")]
    EscrowTermsChanged,
    /// 404 `no_faucet`: not a local development chain.
    #[error("the faucet exists only on local development chains")]
    NoFaucet,
    /// 422 `validation_failed`: one field of the request is wrong.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(common::FieldError),
    /// 422 `validation_failed` (field `token_id`).
    #[error("must be a positive integer")]
    InvalidTokenId,
    /// 422 `validation_failed` (field `address`).
    #[error(transparent)]
    InvalidAddress(AddressError),
    /// The chain: 503 `unavailable` when the node is down or slow
    /// (`Retry-After: 5`), refuses the request (30) or fees are above the
    /// cap (60); 409 `chain_reverted` for a revert; 500 `internal` for an
    /// answer that makes no sense.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A peer: 503 `unavailable` when it is down, 502 `bad_gateway` for an
    /// unexpected answer.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The shared answer of [`events::store_problem`]: 503 while the store
    /// is down, otherwise 500 `internal`.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An already-shaped problem: 422 `validation_failed`, 401, 403.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// 500 `internal`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl BlockchainError {
    /// 422 for one field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Invalid(common::FieldError::new(field, code, message))
    }

    /// The chain (or a peer) is down or refuses for now: answered 503
    /// `unavailable`, and worth trying again later rather than at once.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::PaymentReverts
            | Self::Chain(
                ChainError::Unavailable(_)
                | ChainError::Pending(_)
                | ChainError::FeeCap(_)
                | ChainError::Rejected(_),
            )
            | Self::Client(ClientError::Unavailable { .. }) => true,
            Self::Client(ClientError::Problem { status, .. }) => status.is_server_error(),
            _ => false,
        }
    }
}

impl From<BlockchainError> for ApiError {
    fn from(err: BlockchainError) -> Self {
        let detail = err.to_string();
        match err {
            BlockchainError::PaymentConflict { order_id, payment } => {
                ApiError::conflict(codes::PAYMENT_CONFLICT, detail)
                    .with_extension("payment", &PaymentView::new(&order_id, &payment))
            }
            BlockchainError::PaymentRefused { order_id, payment } => {
                ApiError::conflict(codes::PAYMENT_REFUSED, detail)
                    .with_extension("payment", &PaymentView::new(&order_id, &payment))
            }
            BlockchainError::PaymentInProgress => {
                ApiError::conflict(codes::PAYMENT_IN_PROGRESS, detail)
                    .retry_after(Duration::from_secs(1))
            }
            BlockchainError::PaymentReverts => {
                ApiError::unavailable(Duration::from_secs(60), detail)
            }
            BlockchainError::PaymentNotFound(order_id) => {
                ApiError::not_found(format!("payment of order {order_id}"))
            }
            BlockchainError::ProductNotFound(id) => ApiError::not_found(format!("product {id}")),
            BlockchainError::AlreadyMinted {
                product_id,
                contract,
                record,
            } => ApiError::conflict(codes::ALREADY_MINTED, detail)
                .with_extension("token", &MintView::new(&product_id, contract, &record)),
            BlockchainError::MediaMissing => ApiError::conflict(codes::MEDIA_MISSING, detail),
            BlockchainError::MintInProgress => ApiError::conflict(codes::MINT_IN_PROGRESS, detail),
            BlockchainError::MintReverted => ApiError::conflict(codes::CHAIN_REVERTED, detail),
            BlockchainError::TokenNotFound(id) => {
                ApiError::not_found(format!("provenance token {id}"))
            }
            BlockchainError::NoReceipt(_) => ApiError::conflict(codes::NO_RECEIPT, detail),
            BlockchainError::AmountNotReceived { .. } => {
                ApiError::conflict(codes::AMOUNT_NOT_RECEIVED, detail)
            }
            BlockchainError::EscrowTermsChanged => {
                ApiError::conflict(codes::ESCROW_TERMS_CHANGED, detail)
            }
            BlockchainError::NoFaucet => {
                ApiError::new(http::StatusCode::NOT_FOUND, codes::NO_FAUCET, detail)
            }
            BlockchainError::Invalid(field) => ApiError::validation(vec![field]),
            BlockchainError::InvalidTokenId => {
                ApiError::invalid_field("token_id", "invalid", detail)
            }
            BlockchainError::InvalidAddress(_) => {
                ApiError::invalid_field("address", "invalid", detail)
            }
            BlockchainError::Chain(e @ (ChainError::Unavailable(_) | ChainError::Pending(_))) => {
                ApiError::unavailable(
                    Duration::from_secs(5),
                    "the chain node is not answering; try again shortly",
                )
                .with_source(e)
            }
            BlockchainError::Chain(e @ ChainError::FeeCap(_)) => ApiError::unavailable(
                Duration::from_secs(60),
                "network fees are above the platform's cap; try again later",
            )
            .with_source(e),
            // The node refused (out of gas funds, a provider's limits):
            // a dependency's refusal, not the client's fault.
            BlockchainError::Chain(e @ ChainError::Rejected(_)) => ApiError::unavailable(
                Duration::from_secs(30),
                "the chain node refused the request; try again later",
            )
            .with_source(e),
            BlockchainError::Chain(ChainError::Reverted(_)) => ApiError::conflict(
                codes::CHAIN_REVERTED,
                "the contract refused the transaction",
            ),
            BlockchainError::Chain(e @ ChainError::Unexpected(_)) => ApiError::internal(e),
            BlockchainError::Client(e) => e.into(),
            BlockchainError::Store(e) => events::store_problem(e),
            BlockchainError::Api(e) => e,
            BlockchainError::Internal(e) => ApiError::internal(e),
        }
    }
}

common::problem_response!(BlockchainError);

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;
    use common::error::codes::UNAVAILABLE;
    use http::StatusCode;

    use super::*;

    #[test]
    fn a_store_outage_is_503() {
        testkit::assert_store_outage_is_503::<BlockchainError>();
    }

    #[test]
    fn codes_are_listed_once() {
        let mut all = CODES.to_vec();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), CODES.len());
    }

    /// The reconciler stops a round on exactly the errors answered 503 `unavailable`.
    #[test]
    fn unavailable_is_what_answers_503_unavailable() {
        let unavailable = |service| ClientError::Unavailable {
            service,
            reason: "down".to_owned(),
        };
        let cases = [
            BlockchainError::PaymentReverts,
            BlockchainError::PaymentInProgress,
            BlockchainError::MediaMissing,
            BlockchainError::Chain(ChainError::Unavailable("down".to_owned())),
            BlockchainError::Chain(ChainError::Pending(B256::ZERO)),
            BlockchainError::Chain(ChainError::FeeCap(1)),
            BlockchainError::Chain(ChainError::Rejected("no funds".to_owned())),
            BlockchainError::Chain(ChainError::Reverted(None)),
            BlockchainError::Chain(ChainError::Unexpected("odd".to_owned())),
            BlockchainError::Client(unavailable("auth")),
            BlockchainError::Client(ClientError::Decode {
                service: "auth",
                reason: "odd".to_owned(),
            }),
            BlockchainError::Internal(anyhow::anyhow!("bug")),
        ];
        for err in cases {
            let claimed = err.is_unavailable();
            let name = format!("{err:?}");
            let api = ApiError::from(err);
            assert_eq!(
                claimed,
                api.status() == StatusCode::SERVICE_UNAVAILABLE && api.code() == UNAVAILABLE,
                "{name}"
            );
        }
    }
}
