//! Fair-pay splits, exactly once per order.
//!
//! Three guards stack up: the payments collection keyed by order id (one
//! record per order, created in a transaction); the signed transaction
//! stored *before* it is broadcast, so that after a crash the same bytes
//! are re-sent rather than a second payment signed; and the contract,
//! which reverts a second payment of an order id. A record moves
//! queued → signed → confirmed (or failed), and a background task moves on
//! whatever a request or a crash left behind.

mod confirm;
mod consumer;
mod execute;
mod reconcile;
mod records;
mod signing;

use alloy::primitives::{Address, B256, Bytes};
use chrono::{DateTime, Utc};
use common::money::Money;
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec};
use utoipa::ToSchema;

pub use consumer::PaymentConsumer;
pub use execute::{Execution, execute};
pub use reconcile::{reconcile_loop, reconcile_once};
pub use records::load;
pub use signing::units;

/// How long a claimed payment is left to its claimant before another
/// worker may take it over (longer than any signing round trip).
const LEASE_SECS: i64 = 60;
/// Re-signing rounds (after a transaction that can never mine) before a
/// payment is marked failed for a human to look at.
const MAX_ATTEMPTS: u32 = 3;

/// The store indexes the reconciler's queries use.
pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::new(
            Payment::COLLECTION,
            &[("state", Direction::Asc), ("updated_at", Direction::Asc)],
        ),
        IndexSpec::new(
            "escrow_refunds",
            &[("state", Direction::Asc), ("updated_at", Direction::Asc)],
        ),
    ]
}

/// Where the money paid out comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    /// The platform's balance (money a provider collected off chain).
    #[default]
    Platform,
    /// The order's escrow deposit, released.
    Escrow,
}

/// Where a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Accepted; no transaction signed yet.
    Queued,
    /// The order completed, but no receipt has arrived yet: paid once one
    /// does (never without).
    AwaitingReceipt,
    /// The artisan has no wallet yet; retried periodically.
    AwaitingWallet,
    /// Signed and stored; broadcast (or about to be re-broadcast).
    Signed,
    /// Mined with enough confirmations; `payment.executed` published.
    Confirmed,
    /// Refused by the contract for a reason other than "already paid".
    Failed,
}

impl PaymentState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::AwaitingReceipt => "awaiting_receipt",
            Self::AwaitingWallet => "awaiting_wallet",
            Self::Signed => "signed",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
        }
    }
}

/// What is paid to whom: the part of a request that makes it "the same".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub amount: Money,
    pub token: Address,
    /// Unset until resolved from `artisan_id` (payments from events).
    pub artisan: Option<Address>,
    pub artisan_id: Option<String>,
    pub cooperative: Address,
    pub platform: Address,
    pub artisan_bps: u16,
    pub cooperative_bps: u16,
    pub platform_bps: u16,
    /// Paid from the platform's balance or the order's escrow.
    #[serde(default)]
    pub funding: Funding,
}

/// The three parts of a confirmed payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shares {
    pub artisan: Money,
    pub cooperative: Money,
    pub platform: Money,
}

/// One order's payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub terms: Terms,
    pub state: PaymentState,
    /// `api` or `order.completed`.
    pub source: String,
    pub tx_hash: Option<B256>,
    /// The signed transaction, stored before broadcast; cleared once mined.
    pub raw_tx: Option<Bytes>,
    pub nonce: Option<u64>,
    pub block_number: Option<u64>,
    pub shares: Option<Shares>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Not retried before this time (waiting for a wallet).
    pub not_before: Option<DateTime<Utc>>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Payment {
    const COLLECTION: &'static str = "payments";
}

impl Payment {
    fn new(terms: Terms, source: &str, lease_owner: Option<&str>) -> Self {
        let now = Utc::now();
        Self {
            terms,
            state: PaymentState::Queued,
            source: source.to_owned(),
            tx_hash: None,
            raw_tx: None,
            nonce: None,
            block_number: None,
            shares: None,
            lease_owner: lease_owner.map(str::to_owned),
            lease_until: lease_owner.map(|_| now + chrono::Duration::seconds(LEASE_SECS)),
            not_before: None,
            attempts: 0,
            last_error: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Someone holds the payment's lease now.
    fn is_leased(&self) -> bool {
        self.lease_until.is_some_and(|until| until > Utc::now())
    }

    fn leased_to_other(&self, owner: &str) -> bool {
        self.is_leased() && self.lease_owner.as_deref() != Some(owner)
    }

    fn release(&mut self) {
        self.lease_owner = None;
        self.lease_until = None;
        self.updated_at = Utc::now();
    }
}
