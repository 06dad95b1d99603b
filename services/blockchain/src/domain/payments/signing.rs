//! Signing and sending a claimed payment: the artisan's wallet resolved,
//! the contract asked whether the order is paid, the transaction signed,
//! stored, and only then broadcast.

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::{SolCall as _, SolInterface as _};
use chrono::Utc;
use common::Id;
use common::money::Money;

use super::confirm::adopt_from_chain;
use super::reconcile::reconcile_signed;
use super::records::{load, update, updated_or_current};
use super::{Funding, Payment, PaymentState};
use crate::config::CrashPoint;
use crate::domain::chain::ChainError;
use crate::domain::contracts::{DevRupee, FairPay};
use crate::domain::hashing::order_key;
use crate::error::BlockchainError;
use crate::state::AppState;

/// Where an artisan's wallet stands.
enum ArtisanWallet {
    Known(Address),
    /// The artisan has not added one yet.
    Missing,
    /// There is no such account.
    NoAccount,
}

/// Signs, stores and broadcasts a payment claimed by `owner`, then waits
/// for it. Errors only when nothing was signed (the record is still queued).
pub(super) async fn send_claimed(
    state: &AppState,
    order_id: &str,
    owner: &str,
) -> Result<Payment, BlockchainError> {
    let p = load(state, order_id).await?.value;
    let held = |p: &Payment| p.lease_owner.as_deref() == Some(owner);

    // The artisan's wallet, for payments that came from an event.
    let artisan = match (p.terms.artisan, &p.terms.artisan_id) {
        (Some(a), _) => a,
        (None, Some(artisan_id)) => match artisan_wallet(state, artisan_id).await? {
            ArtisanWallet::Known(a) => {
                // Back to queued: the wallet is known, the payment can be signed.
                update(
                    state,
                    order_id,
                    |p| p.terms.artisan.is_none() && held(p),
                    |p| {
                        p.terms.artisan = Some(a);
                        p.state = PaymentState::Queued;
                        p.not_before = None;
                        p.last_error = None;
                    },
                )
                .await?;
                a
            }
            ArtisanWallet::Missing => {
                let waiting = update(state, order_id, held, |p| {
                    p.state = PaymentState::AwaitingWallet;
                    p.not_before = Some(Utc::now() + wallet_retry(state));
                    p.last_error = Some("the artisan has not added a wallet yet".to_owned());
                    p.release();
                })
                .await?;
                return Ok(waiting.unwrap_or(p));
            }
            ArtisanWallet::NoAccount => {
                let failed = update(state, order_id, held, |p| {
                    p.state = PaymentState::Failed;
                    p.last_error = Some("the artisan's account does not exist".to_owned());
                    p.release();
                })
                .await?;
                return Ok(failed.unwrap_or(p));
            }
        },
        (None, None) => {
            return Err(anyhow::anyhow!("payment of order {order_id} has no artisan").into());
        }
    };

    // Paid already (a record lost, or a transaction re-signed)? Adopt it.
    let key = order_key(order_id);
    if read_paid(state, key).await? {
        return adopt_from_chain(state, order_id).await;
    }
    let split = FairPay::Split {
        artisan,
        cooperative: p.terms.cooperative,
        platform: p.terms.platform,
        artisanBps: p.terms.artisan_bps,
        cooperativeBps: p.terms.cooperative_bps,
        platformBps: p.terms.platform_bps,
    };
    // Escrowed money is released as it was deposited; money collected off
    // chain is paid from the platform's balance.
    let input = match p.terms.funding {
        Funding::Escrow => FairPay::releaseCall {
            orderId: key,
            split,
        }
        .abi_encode(),
        Funding::Platform => {
            ensure_allowance(state, p.terms.amount).await?;
            FairPay::payTokenCall {
                orderId: key,
                token: p.terms.token,
                amount: units(p.terms.amount),
                split,
            }
            .abi_encode()
        }
    };
    let signed = match state
        .chain
        .sign(Some(state.contracts.fair_pay), input.into(), U256::ZERO)
        .await
    {
        Ok(s) => s,
        Err(ChainError::Reverted(data)) => {
            let reason = data
                .as_deref()
                .and_then(|d| FairPay::FairPayErrors::abi_decode(d).ok());
            if let Some(FairPay::FairPayErrors::AlreadyPaid(_)) = reason {
                return adopt_from_chain(state, order_id).await;
            }
            let Some(reason) = reason else {
                // Not the contract's own refusal (the payer short of tokens
                // or gas, say): worth another try later, not a final "no".
                let why = BlockchainError::PaymentReverts.to_string();
                let later = Utc::now() + chrono::Duration::seconds(60);
                update(
                    state,
                    order_id,
                    |p| p.state == PaymentState::Queued,
                    |p| {
                        p.not_before = Some(later);
                        p.last_error = Some(why.clone());
                    },
                )
                .await?;
                return Err(BlockchainError::PaymentReverts);
            };
            let why = format!("the contract refused the payment: {reason:?}");
            let failed = update(
                state,
                order_id,
                |p| p.state == PaymentState::Queued,
                |p| {
                    p.state = PaymentState::Failed;
                    p.last_error = Some(why.clone());
                    p.release();
                },
            )
            .await?;
            return Ok(failed.unwrap_or(p));
        }
        Err(e) => return Err(e.into()),
    };

    // Stored before it leaves the process: a crash from here on re-sends
    // these bytes, never a second signature.
    let (hash, raw, nonce) = (signed.hash, signed.raw.clone(), signed.nonce);
    let stored = update(
        state,
        order_id,
        |p| p.state == PaymentState::Queued && held(p),
        |p| {
            p.state = PaymentState::Signed;
            p.terms.artisan = Some(artisan);
            p.tx_hash = Some(hash);
            p.raw_tx = Some(raw.clone());
            p.nonce = Some(nonce);
            p.attempts += 1;
        },
    )
    .await?;
    if stored.is_none() {
        // Lost the lease meanwhile: drop the signature unsent.
        drop(signed);
        return updated_or_current(state, order_id, None).await;
    }
    crash_if(state, CrashPoint::BeforeBroadcast);
    if let Err(err) = state.chain.broadcast(signed).await {
        tracing::warn!(order_id, error = %err, "broadcast failed; reconciliation will re-send");
        return updated_or_current(state, order_id, None).await;
    }
    crash_if(state, CrashPoint::AfterBroadcast);
    reconcile_signed(state, order_id, true).await
}

/// The wallet of the artisan `artisan_id` (an id that is not one names no account).
async fn artisan_wallet(
    state: &AppState,
    artisan_id: &str,
) -> Result<ArtisanWallet, BlockchainError> {
    let Ok(id) = Id::parse(artisan_id) else {
        return Ok(ArtisanWallet::NoAccount);
    };
    match state.peers.users.wallet(&id).await {
        Ok(Some(w)) => Ok(ArtisanWallet::Known(Address::from(*w.as_bytes()))),
        Ok(None) => Ok(ArtisanWallet::Missing),
        Err(e) if e.is_not_found() => Ok(ArtisanWallet::NoAccount),
        Err(e) => Err(e.into()),
    }
}

/// How long a payment waits before asking again for a missing wallet.
fn wallet_retry(state: &AppState) -> chrono::Duration {
    chrono::Duration::milliseconds(
        i64::try_from(state.settings.wallet_retry_ms).unwrap_or(i64::MAX),
    )
}

/// The crash tests' hook: dies here, as a SIGKILL would.
fn crash_if(state: &AppState, point: CrashPoint) {
    if state.settings.crash_point == point {
        tracing::error!(?point, "crash_point reached: aborting (test hook)");
        std::process::abort();
    }
}

/// Token units of an amount (one unit per minor unit).
pub fn units(amount: Money) -> U256 {
    U256::from(amount.amount.max(0).unsigned_abs())
}

/// Whether the contract has the order `key` as paid.
pub(super) async fn read_paid(state: &AppState, key: B256) -> Result<bool, ChainError> {
    state
        .chain
        .view(state.contracts.fair_pay, FairPay::paidCall { orderId: key })
        .await
}

/// Approves FairPay for the payment token when the allowance runs short.
async fn ensure_allowance(state: &AppState, amount: Money) -> Result<(), ChainError> {
    let allowance = state
        .chain
        .view(
            state.contracts.payment_token,
            DevRupee::allowanceCall {
                owner: state.chain.address(),
                spender: state.contracts.fair_pay,
            },
        )
        .await?;
    if allowance < units(amount) {
        state
            .chain
            .transact(
                Some(state.contracts.payment_token),
                DevRupee::approveCall {
                    spender: state.contracts.fair_pay,
                    value: U256::MAX,
                }
                .abi_encode()
                .into(),
            )
            .await?;
    }
    Ok(())
}
