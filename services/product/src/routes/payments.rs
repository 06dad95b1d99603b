//! Paying an order: the buyer's checkout, the providers' webhooks (the
//! only way an order becomes paid besides an admin with a reason), and,
//! while the sandbox is the provider, its routes that succeed or fail a
//! payment the way a card/UPI provider's test mode does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use common::identity::Role;
use common::{Caller, Id, Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::orders::money_in::CheckoutState;
use crate::domain::payments::{self, CheckoutAnswer, ProviderName, sandbox};
use crate::error::ProductError;
use crate::state::AppState;

/// The largest body a payment route reads (a provider's webhook is a few
/// kilobytes; its signature is checked over all of it).
const MAX_BODY: usize = 64 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout))
        .routes(routes!(confirm))
        .routes(routes!(webhook))
        .routes(routes!(sandbox_succeed))
        .routes(routes!(sandbox_fail))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

/// `POST /orders/{id}/checkout`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// `sandbox` or `razorpay` (whichever this platform uses for cards
    /// and UPI, the default) or `escrow` (a wallet deposit on chain).
    #[schema(inline)]
    pub provider: Option<CheckoutProvider>,
}

/// The ways a buyer may pay.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutProvider {
    Sandbox,
    Razorpay,
    Escrow,
}

impl From<CheckoutProvider> for ProviderName {
    fn from(p: CheckoutProvider) -> Self {
        match p {
            CheckoutProvider::Sandbox => ProviderName::Sandbox,
            CheckoutProvider::Razorpay => ProviderName::Razorpay,
            CheckoutProvider::Escrow => ProviderName::Escrow,
        }
    }
}

/// Pay an order (its buyer, while it is placed): the provider creates a
/// payment of exactly the order's total; the answer says what the client
/// needs to pay it. The order becomes paid when the provider confirms the
/// money, never on the client's word. Asking again while the payment is
/// pending answers the same payment.
#[utoipa::path(post, path = "/orders/{id}/checkout", tag = "orders", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = CheckoutRequest,
    responses((status = 200, body = CheckoutAnswer),
        (status = 403, description = "not the order's buyer"),
        (status = 409, description = "the order is not waiting for payment (`not_payable`)"),
        (status = 422, description = "a way of paying not offered here"),
        (status = 502, description = "the provider refused the payment"),
        (status = 503, description = "the provider did not answer; nothing was charged")))]
async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(body): Json<CheckoutRequest>,
) -> Result<Json<CheckoutAnswer>, ProductError> {
    caller.require(&[Role::Buyer])?;
    let provider = body.provider.map(ProviderName::from);
    Ok(Json(
        payments::start_checkout(&state, &caller, &id, provider).await?,
    ))
}

/// `POST /orders/{id}/checkout/confirm`: what Razorpay Checkout hands the
/// client after a payment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutConfirmation {
    #[schema(min_length = 1, max_length = 64)]
    pub razorpay_payment_id: String,
    #[schema(min_length = 1, max_length = 64)]
    pub razorpay_order_id: String,
    /// Hex HMAC-SHA256 of `order_id|payment_id` with the key secret.
    #[schema(min_length = 64, max_length = 64, pattern = "^[0-9a-fA-F]{64}$")]
    pub razorpay_signature: String,
}

/// What a verified confirmation means.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Confirmed {
    /// The payment is genuine; the order becomes paid when the provider's
    /// webhook confirms the money was captured.
    pub verified: bool,
    pub state: CheckoutState,
}

/// Check the signature Razorpay Checkout gave the client (its buyer):
/// proof the payment is genuine, not that money was captured, so the order
/// stays as it is until the provider's webhook says so.
#[utoipa::path(post, path = "/orders/{id}/checkout/confirm", tag = "orders", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = CheckoutConfirmation,
    responses((status = 200, body = Confirmed),
        (status = 401, description = "the signature does not match (`invalid_signature`)"),
        (status = 409, description = "not this order's pending payment (`not_payable`)")))]
async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(body): Json<CheckoutConfirmation>,
) -> Result<Json<Confirmed>, ProductError> {
    let order = state
        .orders
        .get(&id)
        .await?
        .filter(|o| o.value.visible_to(&caller) && o.value.buyer_id == caller.uid)
        .ok_or_else(|| ProductError::NotFound(format!("order {id}")))?;
    let checkout = order
        .value
        .checkout
        .filter(|c| c.provider_order_id == body.razorpay_order_id)
        .ok_or(ProductError::NotPayable)?;
    let provider = state
        .payments
        .card(checkout.provider)
        .ok_or(ProductError::NotPayable)?;
    if !payments::checkout_signature_matches(
        provider.checkout_secret(),
        &body.razorpay_order_id,
        &body.razorpay_payment_id,
        &body.razorpay_signature,
    ) {
        return Err(payments::WebhookError::BadSignature.into());
    }
    Ok(Json(Confirmed {
        verified: true,
        state: checkout.state,
    }))
}

/// How a webhook was taken.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookAnswer {
    pub event_id: String,
    /// `applied`, `duplicate` (applied before) or `ignored` (well signed,
    /// about nothing of ours).
    pub outcome: String,
}

/// The longest webhook body read.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// A payment provider's webhook (Razorpay's format; the sandbox's too):
/// verified over its raw body with the provider's webhook secret
/// (`X-Razorpay-Signature`), applied once per `X-Razorpay-Event-Id`. A
/// well-signed event about nothing of ours is acknowledged and ignored.
#[utoipa::path(post, path = "/orders/payments/webhook/{provider}", tag = "orders",
    params(("provider" = String, Path, pattern = "^(sandbox|razorpay)$"),
        ("X-Razorpay-Signature" = String, Header, description = "hex HMAC-SHA256 of the raw body"),
        ("X-Razorpay-Event-Id" = String, Header, max_length = 128)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = WebhookAnswer),
        (status = 401, description = "the signature is missing or wrong (`invalid_signature`)"),
        (status = 400, description = "signed, but not an event (`malformed_webhook`)"),
        (status = 404, description = "not this platform's provider")))]
async fn webhook(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAnswer>, ProductError> {
    let provider = ProviderName::parse(&provider)
        .and_then(|p| state.payments.card(p))
        .ok_or_else(|| ProductError::NotFound("payment provider".to_owned()))?
        .clone();
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(payments::WebhookError::Malformed.into());
    }
    let event = payments::verify(provider.webhook_secret(), &headers, &body)?;
    let outcome = payments::apply_webhook(&state, provider.name(), &event).await?;
    tracing::info!(
        provider = provider.name().as_str(),
        event_id = event.event_id,
        outcome = outcome.as_str(),
        "payment webhook"
    );
    Ok(Json(WebhookAnswer {
        event_id: event.event_id,
        outcome: outcome.as_str().to_owned(),
    }))
}

/// `POST /orders/{id}/sandbox/succeed`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxPayment {
    /// Pay this many minor units instead of the order's total (to try a
    /// mismatch).
    #[schema(minimum = 1, maximum = 100_000_000_000i64)]
    pub amount: Option<i64>,
}

/// What the sandbox's provider said it delivered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delivered {
    /// The status the webhook endpoint answered the sandbox.
    pub webhook_status: u16,
}

/// The sandbox (while it is this platform's provider): capture the order's
/// pending payment, as a buyer paying would. It delivers a signed
/// `payment.captured` webhook to this service's webhook route.
#[utoipa::path(post, path = "/orders/{id}/sandbox/succeed", tag = "orders", security(("bearer" = [])),
    params(("id" = Id, Path)), request_body = SandboxPayment,
    responses((status = 200, body = Delivered), (status = 409, description = "no pending sandbox payment")))]
async fn sandbox_succeed(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
    Json(body): Json<SandboxPayment>,
) -> Result<Json<Delivered>, ProductError> {
    let (provider_order_id, total) = pending_sandbox(&state, &caller, &id).await?;
    let amount = body.amount.unwrap_or(total.amount);
    let event = sandbox::captured(&provider_order_id, amount, total.currency.code());
    deliver(&state, &event).await
}

/// The sandbox: fail the order's pending payment (a declined card). It
/// delivers a signed `payment.failed` webhook to this service.
#[utoipa::path(post, path = "/orders/{id}/sandbox/fail", tag = "orders", security(("bearer" = [])),
    params(("id" = Id, Path)),
    responses((status = 200, body = Delivered), (status = 409, description = "no pending sandbox payment")))]
async fn sandbox_fail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Id>,
) -> Result<Json<Delivered>, ProductError> {
    let (provider_order_id, total) = pending_sandbox(&state, &caller, &id).await?;
    let event = sandbox::failed(
        &provider_order_id,
        total.amount,
        total.currency.code(),
        "the card was declined (sandbox)",
    );
    deliver(&state, &event).await
}

/// The pending sandbox payment of order `id`, for its buyer (or an admin).
async fn pending_sandbox(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(String, common::Money), ProductError> {
    if state.payments.sandbox().is_none() {
        return Err(ProductError::NoSandbox);
    }
    let order = state
        .orders
        .get(id)
        .await?
        .filter(|o| o.value.visible_to(caller))
        .ok_or_else(|| ProductError::NotFound(format!("order {id}")))?;
    if order.value.buyer_id != caller.uid && !caller.is_admin() {
        return Err(ProductError::Forbidden(
            "only the order's buyer pays it".to_owned(),
        ));
    }
    match &order.value.checkout {
        Some(c) if c.provider == ProviderName::Sandbox && c.state == CheckoutState::Pending => {
            Ok((c.provider_order_id.clone(), c.amount))
        }
        _ => Err(ProductError::NotPayable),
    }
}

async fn deliver(
    state: &AppState,
    event: &serde_json::Value,
) -> Result<Json<Delivered>, ProductError> {
    let sandbox = state.payments.sandbox().ok_or(ProductError::NoSandbox)?;
    let url = state
        .payments
        .webhook_url(ProviderName::Sandbox)
        .ok_or(ProductError::NoSandbox)?;
    let webhook_status = sandbox
        .deliver(&url, event)
        .await
        .map_err(|e| ProductError::PaymentProviderUnavailable(e.to_string()))?;
    Ok(Json(Delivered { webhook_status }))
}
