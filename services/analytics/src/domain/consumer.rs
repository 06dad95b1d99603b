//! Every domain event, kept as a fact.

use std::sync::Arc;

use async_trait::async_trait;
use events::{ConsumeError, Consumer, Received};
use store::Txn;

use super::Analytics;
use crate::facts::decode;

/// Applies each event to the fact store. The fact store keeps its own
/// record of applied event ids, so the write is idempotent and safe to
/// repeat if the push's transaction is retried or answered late.
pub struct FactConsumer(pub Arc<Analytics>);

#[async_trait]
impl Consumer for FactConsumer {
    async fn apply(&self, event: &Received, _tx: &mut Txn) -> Result<(), ConsumeError> {
        let fact = decode::ingest(event)?;
        self.0
            .facts(move |f| f.ingest(std::slice::from_ref(&fact)))
            .await
            .map_err(|e| ConsumeError::Unavailable(e.to_string()))?;
        Ok(())
    }
}
