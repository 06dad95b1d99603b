//! The product events: each listed product's photo queued for analysis,
//! the catalogue's listings kept as comparables for price predictions and
//! as text for keywords and marketing,
//! and each completed order counted into the daily series of its market.

use async_trait::async_trait;
use events::{ConsumeError, Consumer, Received};
use store::Txn;

pub struct MlConsumer;

#[async_trait]
impl Consumer for MlConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        super::jobs::apply(event, tx).await?;
        super::price::learn(event, tx).await?;
        super::listing::learn(event, tx).await?;
        super::demand::count(event, tx).await
    }
}
