//! Fair-pay splits, exactly once per order.
//!
//! Three guards stack up: the payments collection keyed by order id (one
//! record per order, created in a transaction); the signed transaction
//! stored *before* it is broadcast, so that after a crash the same bytes
//! are re-sent rather than a second payment signed; and the contract,
//! which reverts a second payment of an order id. A record moves
//! queued → signed → confirmed (or failed), and a background task moves on
//! whatever a request or a crash left behind.

use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::{SolCall as _, SolEvent as _, SolInterface as _};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::Role;
use common::money::{Currency, Money};
use common::wallet::WalletAddress;
use common::{ApiError, Caller, Json, Path, Validator};
use events::v1::{OrderCompleted, PaymentExecuted};
use events::{ConsumeError, Consumer, Received};
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec, Query, StoreError, Txn, Versioned};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::chain::{ChainError, Mined};
use crate::config::{CrashPoint, SplitBps};
use crate::contracts::{DevRupee, FairPay};
use crate::hashing::order_key;
use crate::state::AppState;

/// How long a claimed payment is left to its claimant before another
/// worker may take it over (longer than any signing round trip).
const LEASE_SECS: i64 = 60;
/// Re-signing rounds (after a transaction that can never mine) before a
/// payment is marked failed for a human to look at.
const MAX_ATTEMPTS: u32 = 3;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(execute_payment))
        .routes(routes!(get_payment))
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Payment::COLLECTION,
        &[("state", Direction::Asc), ("updated_at", Direction::Asc)],
    )]
}

/// Where a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Accepted; no transaction signed yet.
    Queued,
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

/// Splits of `POST /blockchain/execute-payment`, in basis points (sum 10,000).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    pub artisan_bps: u16,
    pub cooperative_bps: u16,
    pub platform_bps: u16,
}

/// `POST /blockchain/execute-payment`. The order id is the idempotency
/// key: the same request again answers the same payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutePayment {
    pub order_id: String,
    /// In minor units of the payment token's currency (1 token unit = 1 minor unit).
    pub amount: Money,
    /// The ERC-20 to pay in (EIP-55); must be the platform's payment token.
    /// Default: the payment token.
    #[schema(value_type = Option<String>)]
    pub token: Option<WalletAddress>,
    #[schema(value_type = String)]
    pub artisan_wallet: WalletAddress,
    pub splits: SplitRequest,
}

/// A payment as clients see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub order_id: String,
    pub state: PaymentState,
    pub amount: Money,
    pub token: String,
    pub artisan_wallet: Option<String>,
    pub cooperative_wallet: String,
    pub platform_wallet: String,
    pub splits: SplitBpsView,
    pub shares: Option<Shares>,
    pub tx_hash: Option<String>,
    pub block_number: Option<u64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Basis points of each party.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct SplitBpsView {
    pub artisan_bps: u16,
    pub cooperative_bps: u16,
    pub platform_bps: u16,
}

fn view(order_id: &str, p: &Payment) -> PaymentView {
    let t = &p.terms;
    PaymentView {
        order_id: order_id.to_owned(),
        state: p.state,
        amount: t.amount,
        token: t.token.to_checksum(None),
        artisan_wallet: t.artisan.map(|a| a.to_checksum(None)),
        cooperative_wallet: t.cooperative.to_checksum(None),
        platform_wallet: t.platform.to_checksum(None),
        splits: SplitBpsView {
            artisan_bps: t.artisan_bps,
            cooperative_bps: t.cooperative_bps,
            platform_bps: t.platform_bps,
        },
        shares: p.shares.clone(),
        tx_hash: p.tx_hash.map(|h| h.to_string()),
        block_number: p.block_number,
        last_error: p.last_error.clone(),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// How a repeated request for an existing payment is answered.
fn answer_existing(
    order_id: &str,
    p: &Payment,
) -> Result<(StatusCode, Json<PaymentView>), ApiError> {
    match p.state {
        PaymentState::Confirmed => Ok((StatusCode::OK, Json(view(order_id, p)))),
        PaymentState::Failed => Err(ApiError::conflict(
            "payment-refused",
            p.last_error
                .clone()
                .unwrap_or_else(|| "the contract refused this payment".to_owned()),
        )
        .with_extension(
            "payment",
            serde_json::to_value(view(order_id, p)).unwrap_or_default(),
        )),
        // Not yet signed and still held by the request that created it,
        // which may yet give it up (node down): ask again shortly.
        PaymentState::Queued if p.is_leased() && p.source == "api" => Err(ApiError::new(
            StatusCode::CONFLICT,
            "payment-in-progress",
            "this order's payment is being made; ask again shortly",
        )
        .retry_after(Duration::from_secs(1))),
        _ => Ok((StatusCode::ACCEPTED, Json(view(order_id, p)))),
    }
}

fn valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn terms_from(state: &AppState, body: &ExecutePayment) -> Result<Terms, ApiError> {
    let mut v = Validator::new();
    v.check(
        valid_order_id(&body.order_id),
        "order_id",
        "invalid",
        "1 to 128 letters, digits, '-' or '_'",
    );
    v.check(
        body.amount.amount > 0,
        "amount.amount",
        "invalid",
        "must be positive",
    );
    let currency = state.settings.chain.payment_currency.as_str();
    v.check(
        body.amount.currency.code() == currency,
        "amount.currency",
        "unsupported",
        format!("payments are made in {currency}"),
    );
    let token = state.contracts.payment_token;
    v.check(
        body.token
            .is_none_or(|t| Address::from(*t.as_bytes()) == token),
        "token",
        "unsupported",
        format!(
            "the platform pays in its payment token {}",
            token.to_checksum(None)
        ),
    );
    let s = body.splits;
    v.check(
        SplitBps {
            artisan: s.artisan_bps,
            cooperative: s.cooperative_bps,
            platform: s.platform_bps,
        }
        .is_valid(),
        "splits",
        "invalid",
        "artisan_bps + cooperative_bps + platform_bps must be 10000",
    );
    let artisan = Address::from(*body.artisan_wallet.as_bytes());
    v.check(
        artisan != Address::ZERO,
        "artisan_wallet",
        "invalid",
        "the zero address cannot be paid",
    );
    v.finish()?;
    Ok(Terms {
        amount: body.amount,
        token,
        artisan: Some(artisan),
        artisan_id: None,
        cooperative: state.cooperative_wallet(),
        platform: state.platform_wallet(),
        artisan_bps: s.artisan_bps,
        cooperative_bps: s.cooperative_bps,
        platform_bps: s.platform_bps,
    })
}

/// Pay an order's amount out to its artisan, cooperative and platform, once.
/// 201: paid now; 200: this order was already paid with these terms; 202:
/// being paid (a concurrent duplicate, or a receipt still on its way);
/// 409: the order was paid with other terms.
#[utoipa::path(post, path = "/blockchain/execute-payment", tag = "blockchain",
    security(("bearer" = [])), request_body = ExecutePayment,
    responses((status = 201, body = PaymentView), (status = 200, body = PaymentView), (status = 202, body = PaymentView),
        (status = 403), (status = 409), (status = 422), (status = 503)))]
async fn execute_payment(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ExecutePayment>,
) -> Result<(StatusCode, Json<PaymentView>), ApiError> {
    caller.require(&[Role::Admin, Role::Service])?;
    let terms = terms_from(&state, &body)?;
    let order_id = body.order_id;
    let attempt = format!("{}-{}", state.instance, uuid_like());
    let payments = state.store.collection::<Payment>();

    let fresh = Payment::new(terms.clone(), "api", Some(&attempt));
    let existing = state
        .store
        .transact(async |tx| match tx.get::<Payment>(&order_id).await? {
            Some(p) => Ok(Some(p)),
            None => {
                tx.create(&order_id, &fresh)?;
                Ok::<_, StoreError>(None)
            }
        })
        .await;
    let existing = match existing {
        Ok(e) => e,
        // Created concurrently by a duplicate: answer what is there.
        Err(StoreError::AlreadyExists { .. } | StoreError::Conflict { .. }) => {
            payments.get(&order_id).await.map_err(ApiError::internal)?
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    if let Some(p) = existing {
        if p.value.terms != terms {
            return Err(ApiError::conflict(
                "payment-conflict",
                format!("order {order_id} already has a payment with other terms"),
            )
            .with_extension(
                "payment",
                serde_json::to_value(view(&order_id, &p.value)).unwrap_or_default(),
            ));
        }
        return answer_existing(&order_id, &p.value);
    }

    match send_claimed(&state, &order_id, &attempt).await {
        Ok(p) => {
            let status = match p.state {
                PaymentState::Confirmed => StatusCode::CREATED,
                PaymentState::Failed => {
                    return Err(ApiError::conflict(
                        "payment-refused",
                        p.last_error
                            .clone()
                            .unwrap_or_else(|| "the contract refused the payment".to_owned()),
                    ));
                }
                _ => StatusCode::ACCEPTED,
            };
            Ok((status, Json(view(&order_id, &p))))
        }
        Err(err) => {
            // Nothing was signed: forget the request, so that a retry starts
            // afresh and nothing is left half-recorded.
            let _ = state
                .store
                .transact(async |tx| {
                    if let Some(p) = tx.get::<Payment>(&order_id).await?
                        && p.value.state == PaymentState::Queued
                        && p.value.lease_owner.as_deref() == Some(attempt.as_str())
                    {
                        tx.delete::<Payment>(&order_id)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .await;
            Err(err)
        }
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// A payment (admin or service).
#[utoipa::path(get, path = "/blockchain/payments/{order_id}", tag = "blockchain",
    security(("bearer" = [])), params(("order_id" = String, Path)),
    responses((status = 200, body = PaymentView), (status = 403), (status = 404)))]
async fn get_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    caller.require(&[Role::Admin, Role::Service])?;
    let p = state
        .store
        .collection::<Payment>()
        .get(&order_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("payment of order {order_id}")))?;
    Ok(Json(view(&order_id, &p.value)))
}

async fn load(state: &AppState, order_id: &str) -> Result<Versioned<Payment>, ApiError> {
    state
        .store
        .collection::<Payment>()
        .get(order_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("payment of order {order_id}")))
}

/// Applies `change` to the payment if it is still as `expect` says.
async fn update(
    state: &AppState,
    order_id: &str,
    expect: impl Fn(&Payment) -> bool + Send + Sync,
    change: impl Fn(&mut Payment) + Send + Sync,
) -> Result<Option<Payment>, ApiError> {
    let out = state
        .store
        .transact(async |tx| {
            let Some(mut p) = tx.get::<Payment>(order_id).await? else {
                return Ok(None);
            };
            if !expect(&p.value) {
                return Ok(None);
            }
            change(&mut p.value);
            p.value.updated_at = Utc::now();
            tx.update(&p)?;
            Ok::<_, StoreError>(Some(p.value))
        })
        .await
        .map_err(ApiError::internal)?;
    Ok(out)
}

/// Takes a queued payment for `owner` unless someone else holds it.
async fn claim(state: &AppState, order_id: &str, owner: &str) -> Result<bool, ApiError> {
    let now = Utc::now();
    let claimed = update(
        state,
        order_id,
        |p| {
            matches!(p.state, PaymentState::Queued | PaymentState::AwaitingWallet)
                && !p.leased_to_other(owner)
                && p.not_before.is_none_or(|t| t <= now)
        },
        |p| {
            p.lease_owner = Some(owner.to_owned());
            p.lease_until = Some(Utc::now() + chrono::Duration::seconds(LEASE_SECS));
        },
    )
    .await?;
    Ok(claimed.is_some())
}

/// Signs, stores and broadcasts a payment claimed by `owner`, then waits
/// for it. Errors only when nothing was signed (the record is still queued).
async fn send_claimed(state: &AppState, order_id: &str, owner: &str) -> Result<Payment, ApiError> {
    let p = load(state, order_id).await?.value;
    let key = order_key(order_id);

    // The artisan's wallet, for payments that came from an event.
    let artisan = match (p.terms.artisan, &p.terms.artisan_id) {
        (Some(a), _) => a,
        (None, Some(artisan_id)) => match state.peers.users.wallet(artisan_id).await {
            Ok(Some(w)) => {
                let a = Address::from(*w.as_bytes());
                // Back to queued: the wallet is known, the payment can be signed.
                update(
                    state,
                    order_id,
                    |p| p.terms.artisan.is_none() && p.lease_owner.as_deref() == Some(owner),
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
            Ok(None) => {
                let waiting = update(
                    state,
                    order_id,
                    |p| p.lease_owner.as_deref() == Some(owner),
                    |p| {
                        p.state = PaymentState::AwaitingWallet;
                        p.not_before = Some(Utc::now() + wallet_retry(state));
                        p.last_error = Some("the artisan has not added a wallet yet".to_owned());
                        p.release();
                    },
                )
                .await?;
                return Ok(waiting.unwrap_or(p));
            }
            Err(e) if e.is_not_found() => {
                let failed = update(
                    state,
                    order_id,
                    |p| p.lease_owner.as_deref() == Some(owner),
                    |p| {
                        p.state = PaymentState::Failed;
                        p.last_error = Some("the artisan's account does not exist".to_owned());
                        p.release();
                    },
                )
                .await?;
                return Ok(failed.unwrap_or(p));
            }
            Err(e) => return Err(e.into()),
        },
        (None, None) => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a payment without an artisan"
            )));
        }
    };

    // Paid already (a record lost, or a transaction re-signed)? Adopt it.
    if read_paid(state, key).await? {
        return adopt_from_chain(state, order_id).await;
    }
    ensure_allowance(state, p.terms.amount).await?;

    let call = FairPay::payTokenCall {
        orderId: key,
        token: p.terms.token,
        amount: units(p.terms.amount),
        split: FairPay::Split {
            artisan,
            cooperative: p.terms.cooperative,
            platform: p.terms.platform,
            artisanBps: p.terms.artisan_bps,
            cooperativeBps: p.terms.cooperative_bps,
            platformBps: p.terms.platform_bps,
        },
    };
    let signed = match state
        .chain
        .sign(
            Some(state.contracts.fair_pay),
            call.abi_encode().into(),
            U256::ZERO,
        )
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
                let why = "the payment reverts (is the payer funded and approved?)".to_owned();
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
                return Err(ApiError::unavailable(Duration::from_secs(60), why));
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
        |p| p.state == PaymentState::Queued && p.lease_owner.as_deref() == Some(owner),
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
        return Ok(load(state, order_id).await?.value);
    }
    crash_if(state, CrashPoint::BeforeBroadcast);
    if let Err(err) = state.chain.broadcast(signed).await {
        tracing::warn!(order_id, error = %err, "broadcast failed; reconciliation will re-send");
        return Ok(load(state, order_id).await?.value);
    }
    crash_if(state, CrashPoint::AfterBroadcast);
    reconcile_signed(state, order_id, true).await
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
fn units(amount: Money) -> U256 {
    U256::from(amount.amount.max(0).unsigned_abs())
}

async fn read_paid(state: &AppState, key: B256) -> Result<bool, ChainError> {
    state
        .chain
        .view(state.contracts.fair_pay, FairPay::paidCall { orderId: key })
        .await
}

/// Approves FairPay for the payment token when the allowance runs short.
async fn ensure_allowance(state: &AppState, amount: Money) -> Result<(), ApiError> {
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

/// Moves a signed payment on: confirmed if mined; re-sent if not; signed
/// again only when its transaction can never be mined and the contract
/// says the order is unpaid.
async fn reconcile_signed(
    state: &AppState,
    order_id: &str,
    wait: bool,
) -> Result<Payment, ApiError> {
    let p = load(state, order_id).await?.value;
    let (PaymentState::Signed, Some(hash)) = (p.state, p.tx_hash) else {
        return Ok(p);
    };
    let mined = if wait {
        match state.chain.wait_mined(hash).await {
            Ok(m) => Some(m),
            Err(ChainError::Pending(_)) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        state.chain.mined(hash).await?
    };
    if let Some(mined) = mined {
        if let Some(done) = confirm_if_paid(state, order_id, hash, &mined).await? {
            return Ok(done);
        }
        return retry_or_adopt(state, order_id, hash, "the payment transaction reverted").await;
    }
    let Some(raw) = p.raw_tx.clone() else {
        return Ok(p);
    };
    match state.chain.rebroadcast(&raw).await {
        Ok(()) => touch(state, order_id, hash).await,
        Err(err) if err.is_nonce_too_low() => {
            // Its nonce is used: either by this very transaction (mined
            // between our two questions, perhaps not yet confirmed enough)
            // or by another, and then this one can never be mined.
            if let Some(mined) = state.chain.mined(hash).await?
                && let Some(done) = confirm_if_paid(state, order_id, hash, &mined).await?
            {
                return Ok(done);
            }
            if state.chain.has_receipt(hash).await? {
                return touch(state, order_id, hash).await;
            }
            retry_or_adopt(
                state,
                order_id,
                hash,
                "its nonce was used by another transaction",
            )
            .await
        }
        Err(err) => Err(err.into()),
    }
}

/// Confirms the payment if `mined` (its transaction `hash`) paid it: it
/// succeeded and carries FairPay's PaymentExecuted. `None` otherwise.
async fn confirm_if_paid(
    state: &AppState,
    order_id: &str,
    hash: B256,
    mined: &Mined,
) -> Result<Option<Payment>, ApiError> {
    if !mined.succeeded() {
        return Ok(None);
    }
    let Some(event) = executed_event(mined.logs(), state.contracts.fair_pay) else {
        return Ok(None);
    };
    let parts = shares_of(&event);
    confirm(
        state,
        order_id,
        Some(hash),
        Some(mined.block_number),
        &parts,
    )
    .await
    .map(Some)
}

/// Still waiting for `hash`: moves the payment to the back of the
/// reconciler's queue, so that a few stuck payments never hide the others.
async fn touch(state: &AppState, order_id: &str, hash: B256) -> Result<Payment, ApiError> {
    let touched = update(
        state,
        order_id,
        |p| p.state == PaymentState::Signed && p.tx_hash == Some(hash),
        |_| {},
    )
    .await?;
    match touched {
        Some(p) => Ok(p),
        None => Ok(load(state, order_id).await?.value),
    }
}

/// The artisan's, cooperative's and platform's amounts of an event.
fn shares_of(event: &FairPay::PaymentExecuted) -> [U256; 3] {
    [
        event.artisanAmount,
        event.cooperativeAmount,
        event.platformAmount,
    ]
}

/// The signed transaction will never pay: adopt the payment the chain has
/// for this order, or queue it to be signed again (a bounded number of times).
async fn retry_or_adopt(
    state: &AppState,
    order_id: &str,
    hash: B256,
    why: &str,
) -> Result<Payment, ApiError> {
    if read_paid(state, order_key(order_id)).await? {
        return adopt_from_chain(state, order_id).await;
    }
    tracing::warn!(order_id, tx = %hash, why, "payment transaction will not pay; signing again");
    let why = why.to_owned();
    let next = update(
        state,
        order_id,
        |p| p.state == PaymentState::Signed && p.tx_hash == Some(hash),
        |p| {
            p.state = if p.attempts >= MAX_ATTEMPTS {
                PaymentState::Failed
            } else {
                PaymentState::Queued
            };
            p.tx_hash = None;
            p.raw_tx = None;
            p.nonce = None;
            p.last_error = Some(why.clone());
            p.release();
        },
    )
    .await?;
    Ok(match next {
        Some(p) => p,
        None => load(state, order_id).await?.value,
    })
}

/// Records the payment the chain has for this order: from its event when
/// it is within the history window and confirmed enough (else the payment
/// stays as it is, to be looked at again), or, for an event older than the
/// window, from the contract's own split arithmetic without a transaction hash.
async fn adopt_from_chain(state: &AppState, order_id: &str) -> Result<Payment, ApiError> {
    let head = state.chain.block_number().await?;
    let from = head.saturating_sub(state.settings.chain.history_blocks);
    let filter = Filter::new()
        .address(state.contracts.fair_pay)
        .event_signature(FairPay::PaymentExecuted::SIGNATURE_HASH)
        .topic1(order_key(order_id))
        .from_block(from)
        .to_block(head);
    let logs = state.chain.logs(&filter).await?;
    let confirmed_up_to = (head + 1).saturating_sub(state.chain.confirmations());
    if let Some(log) = logs.first() {
        let block = log.block_number.unwrap_or_default();
        if block > confirmed_up_to {
            return Ok(load(state, order_id).await?.value);
        }
        let event = FairPay::PaymentExecuted::decode_log_data(log.data())
            .map_err(|e| ApiError::internal(anyhow::anyhow!("undecodable PaymentExecuted: {e}")))?;
        return confirm(
            state,
            order_id,
            log.transaction_hash,
            Some(block),
            &shares_of(&event),
        )
        .await;
    }
    let p = load(state, order_id).await?.value;
    let t = &p.terms;
    let split = FairPay::Split {
        artisan: t.artisan.unwrap_or(t.platform),
        cooperative: t.cooperative,
        platform: t.platform,
        artisanBps: t.artisan_bps,
        cooperativeBps: t.cooperative_bps,
        platformBps: t.platform_bps,
    };
    let parts = state
        .chain
        .view(
            state.contracts.fair_pay,
            FairPay::computeSplitCall {
                amount: units(t.amount),
                split,
            },
        )
        .await?;
    tracing::warn!(
        order_id,
        "paid on chain before the history window; recorded without its transaction"
    );
    confirm(
        state,
        order_id,
        None,
        None,
        &[
            parts.artisanAmount,
            parts.cooperativeAmount,
            parts.platformAmount,
        ],
    )
    .await
}

fn executed_event(logs: &[Log], contract: Address) -> Option<FairPay::PaymentExecuted> {
    logs.iter()
        .filter(|l| l.address() == contract)
        .find_map(|l| FairPay::PaymentExecuted::decode_log_data(l.data()).ok())
}

/// Confirmed: record the shares and publish `payment.executed`, once.
async fn confirm(
    state: &AppState,
    order_id: &str,
    hash: Option<B256>,
    block: Option<u64>,
    parts: &[U256; 3],
) -> Result<Payment, ApiError> {
    let out = state
        .store
        .transact(async |tx| {
            let Some(mut p) = tx.get::<Payment>(order_id).await? else {
                return Ok(None);
            };
            if p.value.state == PaymentState::Confirmed {
                return Ok(Some(p.value));
            }
            let currency = p.value.terms.amount.currency;
            let money = |v: U256| Money::new(i64::try_from(v).unwrap_or(i64::MAX), currency);
            let shares = Shares {
                artisan: money(parts[0]),
                cooperative: money(parts[1]),
                platform: money(parts[2]),
            };
            p.value.state = PaymentState::Confirmed;
            p.value.tx_hash = hash;
            p.value.raw_tx = None;
            p.value.block_number = block;
            p.value.shares = Some(shares.clone());
            p.value.last_error = None;
            p.value.release();
            tx.update(&p)?;
            emit_executed(state, tx, order_id, &p.value, hash, &shares)?;
            Ok::<_, StoreError>(Some(p.value))
        })
        .await
        .map_err(ApiError::internal)?;
    match out {
        Some(p) => {
            tracing::info!(order_id, tx = ?hash, block, "payment confirmed");
            Ok(p)
        }
        None => Err(ApiError::not_found(format!("payment of order {order_id}"))),
    }
}

fn emit_executed(
    state: &AppState,
    tx: &mut Txn,
    order_id: &str,
    p: &Payment,
    hash: Option<B256>,
    shares: &Shares,
) -> Result<(), StoreError> {
    let m = |m: &Money| events::v1::Money {
        amount: m.amount,
        currency: m.currency.code().to_owned(),
    };
    state.publisher.emit(
        tx,
        order_id,
        &PaymentExecuted {
            order_id: order_id.to_owned(),
            tx_hash: hash.map(|h| h.to_string()).unwrap_or_default(),
            amount: Some(m(&p.terms.amount)),
            artisan_share: Some(m(&shares.artisan)),
            cooperative_share: Some(m(&shares.cooperative)),
            platform_share: Some(m(&shares.platform)),
        },
    )?;
    Ok(())
}

/// One round of reconciliation: signed payments are checked and re-sent,
/// queued ones (left by a crash, or from events) are sent.
pub async fn reconcile_once(state: &AppState) -> Result<(), ApiError> {
    let payments = state.store.collection::<Payment>();
    let owner = format!("{}-worker", state.instance);
    for s in [
        PaymentState::Signed,
        PaymentState::Queued,
        PaymentState::AwaitingWallet,
    ] {
        let query = Query::new()
            .eq("state", s.as_str())
            .order_by("updated_at", Direction::Asc)
            .limit(50);
        let (batch, _) = payments.query(&query).await.map_err(ApiError::internal)?;
        for p in batch {
            let order_id = p.id.clone();
            let result = match s {
                PaymentState::Signed => reconcile_signed(state, &order_id, false).await.map(|_| ()),
                _ => {
                    if claim(state, &order_id, &owner).await? {
                        let sent = send_claimed(state, &order_id, &owner).await.map(|_| ());
                        if sent.is_err() {
                            let _ = update(
                                state,
                                &order_id,
                                |p| p.lease_owner.as_deref() == Some(owner.as_str()),
                                Payment::release,
                            )
                            .await;
                        }
                        sent
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(err) = result {
                tracing::warn!(order_id, error = %err, "reconciling a payment failed; will retry");
                if err.status().is_server_error() && err.code() == "unavailable" {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// The reconciliation loop, until `cancel`.
pub async fn reconcile_loop(state: AppState, cancel: tokio_util::sync::CancellationToken) {
    let every = Duration::from_millis(state.settings.reconcile_interval_ms);
    loop {
        if let Err(err) = reconcile_once(&state).await {
            tracing::warn!(error = %err, "payment reconciliation round failed");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// `order.completed` → a queued payment of the order's total with the
/// platform's default split; the reconciliation loop pays it.
pub struct PaymentConsumer {
    pub state: AppState,
}

#[async_trait::async_trait]
impl Consumer for PaymentConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        if !event.is::<OrderCompleted>() {
            return Ok(());
        }
        let o = event.decode::<OrderCompleted>()?;
        if !valid_order_id(&o.order_id) {
            return Err(ConsumeError::Invalid(format!("order id {:?}", o.order_id)));
        }
        if tx.get::<Payment>(&o.order_id).await?.is_some() {
            return Ok(());
        }
        let total = o
            .total
            .ok_or_else(|| ConsumeError::Invalid("order.completed without a total".to_owned()))?;
        let currency: Currency = total
            .currency
            .parse()
            .map_err(|e: common::money::UnknownCurrency| ConsumeError::Invalid(e.to_string()))?;
        let split = self.state.settings.default_split;
        let terms = Terms {
            amount: Money::new(total.amount, currency),
            token: self.state.contracts.payment_token,
            artisan: None,
            artisan_id: Some(o.artisan_id.clone()),
            cooperative: self.state.cooperative_wallet(),
            platform: self.state.platform_wallet(),
            artisan_bps: split.artisan,
            cooperative_bps: split.cooperative,
            platform_bps: split.platform,
        };
        let mut payment = Payment::new(terms, "order.completed", None);
        if currency.code() != self.state.settings.chain.payment_currency || total.amount <= 0 {
            payment.state = PaymentState::Failed;
            payment.last_error = Some(format!(
                "cannot pay {} {} in the platform's payment token",
                total.amount,
                currency.code()
            ));
        }
        tx.create(&o.order_id, &payment)?;
        Ok(())
    }
}
