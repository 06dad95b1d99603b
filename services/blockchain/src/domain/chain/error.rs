//! What can go wrong on the chain, told apart from the node's answers.

use alloy::primitives::{B256, Bytes};
use alloy::transports::{RpcError, TransportErrorKind};

/// What can go wrong on the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node cannot be reached or did not answer in time.
    #[error("the chain node is unavailable: {0}")]
    Unavailable(String),
    /// The call reverts; the revert data, if the node returned it.
    #[error("the contract call reverts")]
    Reverted(Option<Bytes>),
    /// The node refused the transaction for another reason.
    #[error("the node refused the request: {0}")]
    Rejected(String),
    /// The fee estimate is above the configured cap.
    #[error("the fee estimate {0} wei exceeds the configured cap")]
    FeeCap(u128),
    /// No receipt with enough confirmations within the timeout.
    #[error("no receipt for {0} yet")]
    Pending(B256),
    /// The node answered something that makes no sense (wrong chain, bad data).
    #[error("unexpected answer from the chain: {0}")]
    Unexpected(String),
}

impl ChainError {
    pub(super) fn from_rpc(err: RpcError<TransportErrorKind>) -> Self {
        match err {
            RpcError::ErrorResp(payload) => match payload.as_revert_data() {
                Some(data) => Self::Reverted(Some(data)),
                None if payload.message.contains("revert") => Self::Reverted(None),
                None => Self::Rejected(payload.message.to_string()),
            },
            RpcError::Transport(kind) => Self::Unavailable(kind.to_string()),
            other => Self::Unavailable(other.to_string()),
        }
    }

    /// True for "nonce too low": another transaction took this nonce.
    pub fn is_nonce_too_low(&self) -> bool {
        matches!(self, Self::Rejected(m) if m.to_ascii_lowercase().contains("nonce too low"))
    }

    /// True when the node already has this exact transaction.
    pub fn is_already_known(&self) -> bool {
        matches!(self, Self::Rejected(m) if {
            let m = m.to_ascii_lowercase();
            m.contains("already known") || m.contains("already imported") || m.contains("known transaction")
        })
    }
}
