//! Reviews, and the orders that make a buyer eligible to write one.

use async_trait::async_trait;
use events::{ConsumeError, Consumer, Received, v1};
use serde::{Deserialize, Serialize};
use store::{Entity, Txn};

/// A buyer's review of a product; its id is `<product>:<buyer>`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    pub product_id: String,
    pub buyer_id: String,
    pub stars: u8,
    pub text: String,
}

impl Entity for Review {
    const COLLECTION: &'static str = "reviews";
}

/// A completed order: its buyer may review its product.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Eligible {
    pub order_id: String,
}

impl Entity for Eligible {
    const COLLECTION: &'static str = "eligible";
}

/// Records who may review what, from `order.completed`.
pub struct OrderConsumer;

#[async_trait]
impl Consumer for OrderConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        if let Ok(order) = event.decode::<v1::OrderCompleted>() {
            let key = format!("{}:{}", order.product_id, order.buyer_id);
            tx.set(
                &key,
                &Eligible {
                    order_id: order.order_id,
                },
            )?;
        }
        Ok(())
    }
}
