//! Placing an order (once per buyer and `Idempotency-Key`) and moving one
//! through its status machine, each in one transaction with its event.

use common::identity::Caller;
use common::{Id, Validator};
use events::v1::{OrderCompleted, OrderPlaced, OrderShipped};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{StoreError, Txn};
use utoipa::ToSchema;

use super::money_in::Receipt;
use super::{IdempotencyRecord, Order, OrderStatus, ShippingAddress, StatusChange};
use crate::domain::payments::{self, ProviderName};
use crate::domain::products::{Product, ProductStatus};
use crate::error::ProductError;
use crate::state::AppState;

/// `POST /orders`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// An active product of another artisan (no such product is 422, a
    /// paused one 409).
    #[schema(value_type = Id)]
    pub product_id: String,
    /// 1–100.
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: u32,
    pub shipping_address: ShippingAddress,
    /// The `search_id` of the search the buyer found the product with, when
    /// the client has one: the artisan learns which searches sell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Id>)]
    pub search_id: Option<String>,
}

impl NewOrder {
    fn validate(&self) -> Result<(), ProductError> {
        let mut v = Validator::new();
        v.check(
            (1..=100).contains(&self.quantity),
            "quantity",
            "out_of_range",
            "must be between 1 and 100",
        );
        v.check(
            Id::is_valid(&self.product_id),
            "product_id",
            "invalid",
            "is not a product id",
        );
        v.check(
            self.search_id.as_deref().is_none_or(Id::is_valid),
            "search_id",
            "invalid",
            "is not a search id",
        );
        self.shipping_address.validate(&mut v);
        Ok(v.finish()?)
    }
}

/// What placing answered: a new order, or the one a repeated request made.
pub enum Placed {
    New(String),
    Repeat(String),
}

/// Place `body` for `caller` under the idempotency `key`: the same key and
/// body answer the first order again; the same key with another body is 422.
pub async fn place(
    state: &AppState,
    caller: &Caller,
    key: &str,
    body: &NewOrder,
) -> Result<Placed, ProductError> {
    body.validate()?;
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(body).map_err(StoreError::Serialize)?,
    ));
    let record_id = hex::encode(Sha256::digest(format!("{}\n{key}", caller.uid)));
    let order_id = Id::generate().into_string();
    state
        .store
        .transact(async |tx: &mut Txn| {
            if let Some(record) = tx.get::<IdempotencyRecord>(&record_id).await? {
                if record.value.request_hash != request_hash {
                    return Err(ProductError::invalid(
                        "Idempotency-Key",
                        "reused",
                        "this key was used for a different order",
                    ));
                }
                return Ok(Placed::Repeat(record.value.order_id.clone()));
            }
            let order = new_order(state, tx, caller, body).await?;
            tx.create(&order_id, &order)?;
            tx.create(
                &record_id,
                &IdempotencyRecord {
                    order_id: order_id.clone(),
                    request_hash: request_hash.clone(),
                },
            )?;
            state.publisher.emit(
                tx,
                &order_id,
                &OrderPlaced {
                    order_id: order_id.clone(),
                    product_id: order.product_id.clone(),
                    buyer_id: order.buyer_id.clone(),
                    artisan_id: order.artisan_id.clone(),
                    quantity: order.quantity,
                    total: Some(order.total.into()),
                    buyer_region: order.shipping_address.state.trim().to_owned(),
                    search_id: body.search_id.clone().unwrap_or_default(),
                },
            )?;
            Ok(Placed::New(order_id.clone()))
        })
        .await
}

/// The order `body` makes of the product as it is now: 422 when there is
/// no such product or the caller may not see it (`Product::visible_to`:
/// another's paused product is not told of), 409 when the caller sees it
/// but it is not orderable (an admin ordering a paused one), 403 for its
/// own artisan.
async fn new_order(
    state: &AppState,
    tx: &mut Txn,
    caller: &Caller,
    body: &NewOrder,
) -> Result<Order, ProductError> {
    let product = tx
        .get::<Product>(&body.product_id)
        .await?
        .filter(|p| p.value.status != ProductStatus::Deleted && p.value.visible_to(Some(caller)))
        .ok_or_else(|| ProductError::invalid("product_id", "not_found", "no such product"))?;
    if product.value.status != ProductStatus::Active {
        return Err(ProductError::NotOrderable);
    }
    if product.value.artisan_id == caller.uid {
        return Err(ProductError::Forbidden(
            "you cannot order your own product".to_owned(),
        ));
    }
    let unit = product.value.price;
    let total = unit.checked_mul(i64::from(body.quantity)).ok_or_else(|| {
        ProductError::invalid("quantity", "out_of_range", "the total is too large")
    })?;
    let now = common::time::now();
    Ok(Order {
        product_id: body.product_id.clone(),
        product_title: product.value.title.clone(),
        buyer_id: caller.uid.clone(),
        artisan_id: product.value.artisan_id.clone(),
        quantity: body.quantity,
        unit_price: unit,
        total,
        shipping_address: body.shipping_address.clone(),
        status: OrderStatus::Placed,
        history: vec![StatusChange {
            status: OrderStatus::Placed,
            at: now,
            by: caller.uid.clone(),
        }],
        payout: None,
        checkout: None,
        receipts: Vec::new(),
        refunds: Vec::new(),
        flags: Vec::new(),
        expires_at: Some(now + state.payments.unpaid_expiry()),
        refund_due: false,
        cancel_reason: None,
        created_at: now,
        updated_at: now,
    })
}

/// The longest reason an admin may give.
pub(super) const MAX_REASON: usize = 500;

/// Move order `id` to `to` on behalf of `caller` (404 when the caller may
/// not see it). Only an admin moves an order to `paid`, with a `reason`
/// (money received by hand); cancelling a paid order owes its refund;
/// completing one announces `order.completed`.
pub async fn change_status(
    state: &AppState,
    caller: &Caller,
    id: &str,
    to: OrderStatus,
    reason: Option<&str>,
) -> Result<Order, ProductError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = reason {
        let mut v = Validator::new();
        v.length("reason", r, 1, MAX_REASON);
        v.finish()?;
    }
    state
        .store
        .transact(async |tx: &mut Txn| {
            let mut order = tx
                .get::<Order>(id)
                .await?
                .filter(|o| o.value.visible_to(caller))
                .ok_or_else(|| ProductError::NotFound(format!("order {id}")))?;
            let paid_before = order.value.status == OrderStatus::Paid;
            order.value.transition(to, caller)?;
            let o = &mut order.value;
            match to {
                OrderStatus::Paid => {
                    let reason = reason.ok_or_else(|| {
                        ProductError::invalid(
                            "reason",
                            "required",
                            "say how the money was received",
                        )
                    })?;
                    record_manual_receipt(state, tx, id, o, &caller.uid, reason)?;
                }
                OrderStatus::Cancelled => {
                    let party = if caller.is_admin() {
                        "admin"
                    } else if caller.uid == o.buyer_id {
                        "buyer"
                    } else {
                        "artisan"
                    };
                    payments::cancel_money(state, tx, id, o, party, paid_before)?;
                }
                OrderStatus::Shipped => {
                    state.publisher.emit(
                        tx,
                        id,
                        &OrderShipped {
                            order_id: id.to_owned(),
                            product_id: o.product_id.clone(),
                            buyer_id: o.buyer_id.clone(),
                            artisan_id: o.artisan_id.clone(),
                        },
                    )?;
                }
                OrderStatus::Completed => {
                    // The sale is a market fact for pricing and analytics:
                    // it carries the product's classification as sold.
                    let product = tx.get::<Product>(&o.product_id).await?;
                    let class = product.as_ref().map(|p| &p.value);
                    state.publisher.emit(
                        tx,
                        id,
                        &OrderCompleted {
                            order_id: id.to_owned(),
                            product_id: o.product_id.clone(),
                            buyer_id: o.buyer_id.clone(),
                            artisan_id: o.artisan_id.clone(),
                            total: Some(o.total.into()),
                            quantity: o.quantity,
                            unit_price: Some(o.unit_price.into()),
                            category: class.map(|p| p.category.clone()).unwrap_or_default(),
                            subcategory: class.map(|p| p.subcategory.clone()).unwrap_or_default(),
                            region: class.and_then(|p| p.region.clone()).unwrap_or_default(),
                        },
                    )?;
                }
                _ => {}
            }
            tx.update(&order)?;
            Ok(order.value)
        })
        .await
}

/// An admin's receipt: the order's total, received by hand for `reason`.
fn record_manual_receipt(
    state: &AppState,
    tx: &mut Txn,
    id: &str,
    o: &mut Order,
    admin: &str,
    reason: &str,
) -> Result<(), ProductError> {
    let paid = o.receive(
        id,
        Receipt {
            provider: ProviderName::Manual,
            payment_id: format!("manual-{}", Id::generate()),
            amount: o.total,
            received_at: common::time::now(),
            reason: Some(reason.to_owned()),
            recorded_by: admin.to_owned(),
        },
    );
    state.publisher.emit(tx, id, &paid)?;
    Ok(())
}
