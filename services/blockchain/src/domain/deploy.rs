//! Where the contracts are: configured addresses in production; on a local
//! chain, deployed at first start and recorded, and deployed again only if
//! the chain itself is new (another genesis) or lost their code.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall as _;
use alloy::sol_types::SolConstructor as _;
use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use store::{Entity, Store};

use crate::config::Settings;
use crate::domain::chain::Chain;
use crate::domain::contracts::{DevRupee, FairPay, ProvenanceNFT};
use crate::state::Contracts;

/// Dev rupees minted to the platform on a local chain: ₹10 crore.
const DEV_SUPPLY_PAISE: u64 = 10_000_000_000;

/// The contracts deployed on a local chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub genesis: String,
    pub provenance: Address,
    pub fair_pay: Address,
    pub payment_token: Address,
    pub deployed_at: chrono::DateTime<chrono::Utc>,
}

impl Entity for Deployment {
    const COLLECTION: &'static str = "deployments";
}

/// One unit of the payment token must be one minor unit of its currency
/// (every amount is converted so): a token with other decimals would pay
/// out a hundredth, or a hundred times, of what was received.
async fn check_decimals(chain: &Chain, token: Address, currency: &str) -> anyhow::Result<()> {
    let currency: common::money::Currency = currency
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown payment currency {currency:?}"))?;
    let decimals = chain
        .view(token, DevRupee::decimalsCall {})
        .await
        .context("reading the payment token's decimals")?;
    if decimals != currency.minor_unit_exponent() {
        bail!(
            "the payment token {token} has {decimals} decimals; {} has {} minor-unit digits",
            currency.code(),
            currency.minor_unit_exponent()
        );
    }
    Ok(())
}

fn addr(w: Option<common::wallet::WalletAddress>) -> Option<Address> {
    w.map(|w| Address::from(*w.as_bytes()))
}

/// The contracts to use, deploying them on a local chain if needed.
pub async fn ensure(
    chain: &Chain,
    store: &Store,
    settings: &Settings,
) -> anyhow::Result<Contracts> {
    let c = &settings.chain;
    if let (Some(provenance), Some(fair_pay), Some(payment_token)) = (
        addr(c.provenance_contract),
        addr(c.fair_pay_contract),
        addr(c.payment_token),
    ) {
        for (name, a) in [
            ("provenance", provenance),
            ("fair pay", fair_pay),
            ("payment token", payment_token),
        ] {
            if !chain.has_code(a).await? {
                bail!(
                    "the configured {name} contract {a} has no code on chain {}",
                    c.chain_id
                );
            }
        }
        check_decimals(chain, payment_token, &c.payment_currency).await?;
        return Ok(Contracts {
            provenance,
            fair_pay,
            payment_token,
        });
    }
    if !c.is_dev() {
        bail!("contract addresses are required for a remote chain");
    }
    let genesis = chain.genesis_hash().await?.to_string();
    let id = format!("chain-{}", c.chain_id);
    let deployments = store.collection::<Deployment>();
    if let Some(d) = deployments.get(&id).await? {
        let d = d.value;
        if d.genesis == genesis
            && chain.has_code(d.provenance).await?
            && chain.has_code(d.fair_pay).await?
            && chain.has_code(d.payment_token).await?
        {
            return Ok(Contracts {
                provenance: d.provenance,
                fair_pay: d.fair_pay,
                payment_token: d.payment_token,
            });
        }
        tracing::warn!("the local chain was reset; deploying the contracts again");
    }

    let me = chain.address();
    let token = deploy(
        chain,
        &DevRupee::BYTECODE,
        DevRupee::constructorCall {
            holder: me,
            supply: U256::from(DEV_SUPPLY_PAISE),
        }
        .abi_encode(),
    )
    .await
    .context("deploying DevRupee")?;
    let base_uri = format!(
        "{}/blockchain/metadata/",
        settings.public_url.as_str().trim_end_matches('/')
    );
    let provenance = deploy(
        chain,
        &ProvenanceNFT::BYTECODE,
        ProvenanceNFT::constructorCall {
            admin: me,
            minter: me,
            baseURI_: base_uri,
        }
        .abi_encode(),
    )
    .await
    .context("deploying ProvenanceNFT")?;
    let fair_pay = deploy(
        chain,
        &FairPay::BYTECODE,
        FairPay::constructorCall {
            admin: me,
            payer: me,
        }
        .abi_encode(),
    )
    .await
    .context("deploying FairPay")?;
    chain
        .transact(
            Some(token),
            DevRupee::approveCall {
                spender: fair_pay,
                value: U256::MAX,
            }
            .abi_encode()
            .into(),
        )
        .await
        .context("approving FairPay")?;
    deployments
        .set(
            &id,
            &Deployment {
                genesis,
                provenance,
                fair_pay,
                payment_token: token,
                deployed_at: chrono::Utc::now(),
            },
        )
        .await?;
    tracing::info!(%provenance, %fair_pay, payment_token = %token, "contracts deployed");
    Ok(Contracts {
        provenance,
        fair_pay,
        payment_token: token,
    })
}

async fn deploy(chain: &Chain, code: &Bytes, args: Vec<u8>) -> anyhow::Result<Address> {
    let mut input = code.to_vec();
    input.extend(args);
    let mined = chain.transact(None, input.into()).await?;
    mined
        .receipt
        .contract_address
        .context("a deployment receipt without a contract address")
}
