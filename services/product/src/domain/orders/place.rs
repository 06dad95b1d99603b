//! Placing an order (once per buyer and `Idempotency-Key`) and moving one
//! through its status machine, each in one transaction with its event.

use common::identity::Caller;
use common::{Id, Validator};
use events::v1::{OrderCompleted, OrderPlaced};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{StoreError, Txn};
use utoipa::ToSchema;

use super::{IdempotencyRecord, Order, OrderStatus, ShippingAddress, StatusChange};
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
            let order = new_order(tx, caller, body).await?;
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
                },
            )?;
            Ok(Placed::New(order_id.clone()))
        })
        .await
}

/// The order `body` makes of the product as it is now: 422 when there is
/// no such product, 409 when it is paused, 403 for its own artisan.
async fn new_order(tx: &mut Txn, caller: &Caller, body: &NewOrder) -> Result<Order, ProductError> {
    let product = tx
        .get::<Product>(&body.product_id)
        .await?
        .filter(|p| p.value.status != ProductStatus::Deleted)
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
        created_at: now,
        updated_at: now,
    })
}

/// Move order `id` to `to` on behalf of `caller` (404 when the caller may
/// not see it); completing it announces `order.completed`.
pub async fn change_status(
    state: &AppState,
    caller: &Caller,
    id: &str,
    to: OrderStatus,
) -> Result<Order, ProductError> {
    state
        .store
        .transact(async |tx: &mut Txn| {
            let mut order = tx
                .get::<Order>(id)
                .await?
                .filter(|o| o.value.visible_to(caller))
                .ok_or_else(|| ProductError::NotFound(format!("order {id}")))?;
            order.value.transition(to, caller)?;
            tx.update(&order)?;
            if to == OrderStatus::Completed {
                let o = &order.value;
                state.publisher.emit(
                    tx,
                    id,
                    &OrderCompleted {
                        order_id: id.to_owned(),
                        product_id: o.product_id.clone(),
                        buyer_id: o.buyer_id.clone(),
                        artisan_id: o.artisan_id.clone(),
                        total: Some(o.total.into()),
                    },
                )?;
            }
            Ok(order.value)
        })
        .await
}
