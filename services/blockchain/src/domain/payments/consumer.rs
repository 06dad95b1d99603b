//! `order.completed` → a queued payment of the order's total with the
//! platform's default split; the reconciliation loop pays it.

use common::Id;
use events::v1::OrderCompleted;
use events::{ConsumeError, Consumer, Received};
use store::Txn;

use super::{Payment, PaymentState, Terms};
use crate::state::AppState;

/// Queues the payment of each completed order, once.
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
        if !Id::is_valid(&o.order_id) {
            return Err(ConsumeError::Invalid(format!("order id {:?}", o.order_id)));
        }
        if tx.get::<Payment>(&o.order_id).await?.is_some() {
            return Ok(());
        }
        let total = events::money::required(o.total.as_ref(), "total")?;
        let split = self.state.settings.default_split;
        let terms = Terms {
            amount: total,
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
        let currency = total.currency.code();
        if currency != self.state.settings.chain.payment_currency || total.amount <= 0 {
            payment.state = PaymentState::Failed;
            payment.last_error = Some(format!(
                "cannot pay {} {currency} in the platform's payment token",
                total.amount
            ));
        }
        tx.create(&o.order_id, &payment)?;
        Ok(())
    }
}
