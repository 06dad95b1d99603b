//! The blockchain service's own settings (`CRAFTCHAIN_BLOCKCHAIN_*`).

use std::path::PathBuf;

use common::ServiceSettings;
use common::config::SharedConfig;
use common::platform;
use common::wallet::WalletAddress;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use url::Url;

/// The first key of anvil's well-known development mnemonic. Only ever used
/// against a local anvil chain: a configured `rpc_url` requires a real key.
pub const ANVIL_DEV_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The chain id anvil reports unless told otherwise.
pub const ANVIL_CHAIN_ID: u64 = 31337;

/// The fewest confirmations accepted on a public chain.
pub const MIN_PUBLIC_CONFIRMATIONS: u64 = 5;

/// anvil's second and third dev accounts: the cooperative's and the
/// platform's wallets on a local chain (production configures real ones).
pub const ANVIL_COOPERATIVE: alloy::primitives::Address =
    alloy::primitives::address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
pub const ANVIL_PLATFORM: alloy::primitives::Address =
    alloy::primitives::address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");

/// Which chain, which contracts, which key.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainSettings {
    /// JSON-RPC endpoint (Polygon, Base). Unset: a local anvil node is
    /// started with its state in the data directory.
    pub rpc_url: Option<Url>,
    /// `rpc_url` is a development chain (an anvil the operator runs): the
    /// contracts are deployed if absent and anvil's dev key is allowed.
    pub dev_chain: bool,
    /// The anvil binary for the local node (default: `node_modules/.bin/anvil`
    /// found from the working directory upwards).
    pub anvil_bin: Option<PathBuf>,
    /// The chain id the node must report.
    pub chain_id: u64,
    /// The platform's signing key (hex). A secret: never logged.
    pub signer_key: Option<SecretString>,
    /// Blocks on top of a transaction's block before it counts (1 = mined).
    pub confirmations: u64,
    /// How long to wait for a receipt before leaving it to reconciliation.
    pub receipt_timeout_ms: u64,
    /// Timeout of one JSON-RPC request.
    pub rpc_timeout_ms: u64,
    /// Upper bound on maxFeePerGas, in wei; a higher estimate is refused.
    pub max_fee_per_gas_wei: Option<u128>,
    /// Deployed ProvenanceNFT; unset on a local chain: deployed at first start.
    pub provenance_contract: Option<WalletAddress>,
    /// Deployed FairPay; unset on a local chain: deployed at first start.
    pub fair_pay_contract: Option<WalletAddress>,
    /// The ERC-20 orders are paid in. Unset on a local chain: a two-decimal
    /// dev rupee (1 unit = 1 paisa) is deployed and funded.
    pub payment_token: Option<WalletAddress>,
    /// The currency one unit of `payment_token` is a minor unit of.
    pub payment_currency: String,
    /// More ERC-20s shown in wallet balances.
    pub extra_tokens: Vec<WalletAddress>,
    /// How far back wallet histories look, in blocks.
    pub history_blocks: u64,
}

impl Default for ChainSettings {
    fn default() -> Self {
        Self {
            rpc_url: None,
            dev_chain: false,
            anvil_bin: None,
            chain_id: ANVIL_CHAIN_ID,
            signer_key: None,
            confirmations: 1,
            receipt_timeout_ms: 30_000,
            rpc_timeout_ms: 10_000,
            max_fee_per_gas_wei: None,
            provenance_contract: None,
            fair_pay_contract: None,
            payment_token: None,
            payment_currency: "INR".to_owned(),
            extra_tokens: Vec::new(),
            history_blocks: 10_000,
        }
    }
}

impl ChainSettings {
    /// True when the service runs its own anvil node.
    pub fn is_local(&self) -> bool {
        self.rpc_url.is_none()
    }

    /// True on a development chain: the service's own anvil, or one marked so.
    pub fn is_dev(&self) -> bool {
        self.is_local() || self.dev_chain
    }

    /// Whether the faucet may give test money: only on the service's own
    /// anvil, or a development chain with anvil's chain id (never a public
    /// test network someone marked `dev_chain`).
    pub fn has_faucet(&self) -> bool {
        self.is_local() || (self.dev_chain && self.chain_id == ANVIL_CHAIN_ID)
    }

    /// The signing key: the configured one, or anvil's dev key locally.
    pub fn signer_key(&self) -> Option<SecretString> {
        match (&self.signer_key, self.is_dev()) {
            (Some(key), _) => Some(key.clone()),
            (None, true) => Some(SecretString::from(ANVIL_DEV_KEY)),
            (None, false) => None,
        }
    }
}

/// Shares of an order's amount, in basis points (sum 10,000).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SplitBps {
    pub artisan: u16,
    pub cooperative: u16,
    pub platform: u16,
}

impl SplitBps {
    pub fn is_valid(&self) -> bool {
        u32::from(self.artisan) + u32::from(self.cooperative) + u32::from(self.platform) == 10_000
    }
}

/// Where a crash test aborts the process during a payment.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    #[default]
    None,
    /// The signed transaction is stored, not yet broadcast.
    BeforeBroadcast,
    /// Broadcast, its outcome not yet recorded.
    AfterBroadcast,
}

/// Settings of the blockchain service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub chain: ChainSettings,
    pub product_url: Url,
    pub media_url: Url,
    pub auth_url: Url,
    /// Where clients reach the platform (the gateway): token URIs point here.
    pub public_url: Url,
    /// The split of orders paid on `order.completed`.
    pub default_split: SplitBps,
    /// Receives the cooperative's share (default: the platform's signer).
    pub cooperative_wallet: Option<WalletAddress>,
    /// Receives the platform's share (default: the platform's signer).
    pub platform_wallet: Option<WalletAddress>,
    /// How often unfinished payments are reconciled with the chain.
    pub reconcile_interval_ms: u64,
    /// How long a payment waits before asking again for an artisan's wallet.
    pub wallet_retry_ms: u64,
    /// For crash tests only: abort the process at this point of a payment.
    pub crash_point: CrashPoint,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            chain: ChainSettings::default(),
            product_url: platform::PRODUCT.local_url(),
            media_url: platform::MEDIA.local_url(),
            auth_url: platform::AUTH.local_url(),
            public_url: platform::GATEWAY.local_url(),
            default_split: SplitBps {
                artisan: 9_000,
                cooperative: 500,
                platform: 500,
            },
            cooperative_wallet: None,
            platform_wallet: None,
            reconcile_interval_ms: 2_000,
            wallet_retry_ms: 60_000,
            crash_point: CrashPoint::None,
        }
    }
}

impl ServiceSettings for Settings {
    fn problems(&self, shared: &SharedConfig) -> Vec<String> {
        let mut p = Vec::new();
        if shared.environment == common::config::Environment::Production
            && self.crash_point != CrashPoint::None
        {
            p.push("crash_point is a test hook and cannot be set in production".to_owned());
        }
        match self.chain.signer_key() {
            None => p.push("chain.signer_key is required with chain.rpc_url".to_owned()),
            Some(key) => {
                if key
                    .expose_secret()
                    .parse::<alloy::signers::local::PrivateKeySigner>()
                    .is_err()
                {
                    p.push("chain.signer_key is not a valid secp256k1 private key".to_owned());
                }
                if !self.chain.is_dev() && key.expose_secret() == ANVIL_DEV_KEY {
                    p.push("chain.signer_key is anvil's public dev key; use a real one".to_owned());
                }
            }
        }
        if !self.chain.is_dev() {
            for (name, set) in [
                ("cooperative_wallet", self.cooperative_wallet.is_some()),
                ("platform_wallet", self.platform_wallet.is_some()),
                (
                    "chain.provenance_contract",
                    self.chain.provenance_contract.is_some(),
                ),
                (
                    "chain.fair_pay_contract",
                    self.chain.fair_pay_contract.is_some(),
                ),
                ("chain.payment_token", self.chain.payment_token.is_some()),
            ] {
                if !set {
                    p.push(format!("{name} is required with chain.rpc_url"));
                }
            }
        }
        if self
            .chain
            .payment_currency
            .parse::<common::money::Currency>()
            .is_err()
        {
            p.push("chain.payment_currency must be an ISO 4217 code".to_owned());
        }
        if !self.default_split.is_valid() {
            p.push("default_split must add up to 10000 basis points".to_owned());
        }
        if self.chain.confirmations == 0 {
            p.push("chain.confirmations must be at least 1".to_owned());
        }
        // Deposits are announced once confirmed: on a public chain, deep
        // enough that a reorganisation does not take one back.
        if !self.chain.is_dev() && self.chain.confirmations < MIN_PUBLIC_CONFIRMATIONS {
            p.push(format!(
                "chain.confirmations must be at least {MIN_PUBLIC_CONFIRMATIONS} outside a development chain"
            ));
        }
        if self.chain.receipt_timeout_ms == 0 || self.chain.rpc_timeout_ms == 0 {
            p.push("chain timeouts must be positive".to_owned());
        }
        if self.reconcile_interval_ms == 0 {
            p.push("reconcile_interval_ms must be positive".to_owned());
        }
        p
    }
}
