//! `POST /blockchain/execute-payment` and `GET /blockchain/payments/{order_id}`:
//! paying an order's artisan, cooperative and platform, once.

use alloy::primitives::Address;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::money::Money;
use common::wallet::WalletAddress;
use common::{Caller, Id, Json, Path, Role, Validator, schema};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat,
    Type,
};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::SplitBps;
use crate::domain::payments::{self, Execution, Funding, Payment, PaymentState, Shares, Terms};
use crate::error::BlockchainError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(execute_payment))
        .routes(routes!(get_payment))
}

/// Splits of `POST /blockchain/execute-payment`, in basis points: each
/// 0–10,000, and the three must add up to exactly 10,000 (422 otherwise;
/// a sum is beyond what a schema can say).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"artisan_bps": 9000, "cooperative_bps": 500, "platform_bps": 500}))]
pub struct SplitRequest {
    #[schema(maximum = 10_000)]
    pub artisan_bps: u16,
    #[schema(maximum = 10_000)]
    pub cooperative_bps: u16,
    #[schema(maximum = 10_000)]
    pub platform_bps: u16,
}

/// `POST /blockchain/execute-payment`. The order id is the idempotency
/// key: the same request again answers the same payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutePayment {
    pub order_id: Id,
    #[schema(schema_with = amount_schema)]
    pub amount: Money,
    #[schema(schema_with = token_schema)]
    pub token: Option<WalletAddress>,
    #[schema(schema_with = artisan_wallet_schema)]
    pub artisan_wallet: WalletAddress,
    pub splits: SplitRequest,
}

/// `amount`: a positive number of minor units of the payment currency.
/// The description served names the configured currency
/// ([`describe_configured_terms`]); this one says only what any is like.
fn amount_schema() -> Object {
    amount_schema_in(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("The payment currency (ISO 4217).")),
    )
}

fn amount_schema_in(currency: ObjectBuilder) -> Object {
    ObjectBuilder::new()
        .description(Some(
            "In minor units of the payment token's currency (1 token unit = 1 minor unit), \
             at least 1.",
        ))
        .property(
            "amount",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(1)),
        )
        .required("amount")
        .property("currency", currency)
        .required("currency")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build()
}

/// `token`: the platform's payment token (its address served by
/// [`describe_configured_terms`]), or absent.
fn token_schema() -> Schema {
    token_schema_of(schema::wallet_address())
}

fn token_schema_of(token: ObjectBuilder) -> Schema {
    schema::or_null(token.description(Some(
        "The ERC-20 to pay in (EIP-55): the platform's payment token, the default.",
    )))
}

/// `artisan_wallet`: a checksummed address other than the zero address.
fn artisan_wallet_schema() -> Schema {
    AllOfBuilder::new()
        .item(schema::wallet_address())
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^0x0*[1-9a-fA-F]")),
        )
        .description(Some(format!(
            "Receives the artisan's share; not the zero address. {}",
            schema::WALLET_ADDRESS_RULE
        )))
        .build()
        .into()
}

/// Say in `openapi` what this deployment takes: `currency` and `token`.
pub fn describe_configured_terms(openapi: &mut OpenApi, currency: &str, token: Address) {
    let body = openapi
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("ExecutePayment"));
    if let Some(RefOr::T(Schema::Object(body))) = body {
        let amount = amount_schema_in(
            schema::string_enum([currency]).description(Some("The payment currency (ISO 4217).")),
        );
        body.properties.insert("amount".to_owned(), amount.into());
        let token = schema::string_enum([token.to_checksum(None).as_str()]);
        body.properties
            .insert("token".to_owned(), token_schema_of(token).into());
    }
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

impl PaymentView {
    /// What clients see of the payment of `order_id`.
    pub fn new(order_id: &str, p: &Payment) -> Self {
        let t = &p.terms;
        Self {
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
}

impl ExecutePayment {
    /// The terms asked for, checked against what the platform pays with.
    fn terms(&self, state: &AppState) -> Result<Terms, BlockchainError> {
        let mut v = Validator::new();
        v.check(
            self.amount.amount > 0,
            "amount.amount",
            "invalid",
            "must be positive",
        );
        let currency = state.settings.chain.payment_currency.as_str();
        v.check(
            self.amount.currency.code() == currency,
            "amount.currency",
            "unsupported",
            format!("payments are made in {currency}"),
        );
        let token = state.contracts.payment_token;
        v.check(
            self.token
                .is_none_or(|t| Address::from(*t.as_bytes()) == token),
            "token",
            "unsupported",
            format!(
                "the platform pays in its payment token {}",
                token.to_checksum(None)
            ),
        );
        let s = self.splits;
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
        let artisan = Address::from(*self.artisan_wallet.as_bytes());
        v.check(
            artisan != Address::ZERO,
            "artisan_wallet",
            "invalid",
            "the zero address cannot be paid",
        );
        v.finish()?;
        Ok(Terms {
            amount: self.amount,
            token,
            artisan: Some(artisan),
            artisan_id: None,
            cooperative: state.cooperative_wallet(),
            platform: state.platform_wallet(),
            artisan_bps: s.artisan_bps,
            cooperative_bps: s.cooperative_bps,
            platform_bps: s.platform_bps,
            funding: Funding::Platform,
        })
    }
}

/// Pay an order's amount out to its artisan, cooperative and platform, once.
/// 201: paid now; 200: this order was already paid with these terms; 202:
/// being paid (a concurrent duplicate, or a receipt still on its way);
/// 409: the order was paid with other terms.
#[utoipa::path(post, path = "/blockchain/execute-payment", tag = "blockchain",
    security(("bearer" = [])), request_body = ExecutePayment,
    responses((status = 201, body = PaymentView, description = "paid now"),
        (status = 200, body = PaymentView, description = "already paid with these terms"),
        (status = 202, body = PaymentView, description = "being paid: a concurrent duplicate, or a receipt on its way"),
        (status = 403, description = "only admins and services pay"),
        (status = 409, description = "paid, refused or being paid with other terms; or no money (or another amount) was received for the order (`no_receipt`, `amount_not_received`)"),
        (status = 422, description = "invalid fields, or splits that do not add up to 10,000"),
        (status = 503, description = "the chain node is down or refused, or fees are above the cap")))]
async fn execute_payment(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ExecutePayment>,
) -> Result<(StatusCode, Json<PaymentView>), BlockchainError> {
    caller.require(&[Role::Admin, Role::Service])?;
    let terms = body.terms(&state)?;
    let (status, p) = match payments::execute(&state, &body.order_id, terms).await? {
        Execution::Paid(p) => (StatusCode::CREATED, p),
        Execution::AlreadyPaid(p) => (StatusCode::OK, p),
        Execution::Pending(p) => (StatusCode::ACCEPTED, p),
    };
    Ok((status, Json(PaymentView::new(&body.order_id, &p))))
}

/// A payment (admin or service).
#[utoipa::path(get, path = "/blockchain/payments/{order_id}", tag = "blockchain",
    security(("bearer" = [])), params(("order_id" = Id, Path)),
    responses((status = 200, body = PaymentView), (status = 403), (status = 404)))]
async fn get_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<Id>,
) -> Result<Json<PaymentView>, BlockchainError> {
    caller.require(&[Role::Admin, Role::Service])?;
    let p = payments::load(&state, &order_id).await?;
    Ok(Json(PaymentView::new(&order_id, &p.value)))
}
