//! The orders' events: `order.paid` records what a provider collected (the
//! receipt of money received off chain); `order.cancelled` ends any payout
//! of the order and queues its escrow refund; `order.completed` queues the
//! payment of exactly what was received for the order, from the platform's
//! balance or released from its escrow, and nothing where nothing was
//! received. The reconciliation loop pays it.

use chrono::Utc;
use common::Id;
use events::v1::{OrderCancelled, OrderCompleted, OrderPaid};
use events::{ConsumeError, Consumer, Received};
use store::Txn;

use super::{Funding, Payment, PaymentState, Terms};
use crate::domain::escrow::{self, Receipt, Source};
use crate::state::AppState;

/// Records receipts, queues payments and escrow refunds, each event once.
pub struct PaymentConsumer {
    pub state: AppState,
}

#[async_trait::async_trait]
impl Consumer for PaymentConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        if event.is::<OrderPaid>() {
            let paid = event.decode::<OrderPaid>()?;
            return record_paid(tx, &paid).await;
        }
        if event.is::<OrderCancelled>() {
            let cancelled = event.decode::<OrderCancelled>()?;
            escrow::queue_refund(tx, &cancelled.order_id).await?;
            return Ok(());
        }
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
        let receipt = tx.get::<Receipt>(&o.order_id).await?.map(|r| r.value);
        let total = events::money::required(o.total.as_ref(), "total")?;
        // What is paid out is what was received, never the order's word.
        let (amount, funding) = match &receipt {
            Some(r) => (
                r.amount,
                match r.source {
                    Source::Escrow => Funding::Escrow,
                    Source::Platform => Funding::Platform,
                },
            ),
            None => (total, Funding::Platform),
        };
        let split = self.state.settings.default_split;
        let terms = Terms {
            amount,
            token: self.state.contracts.payment_token,
            artisan: None,
            artisan_id: Some(o.artisan_id.clone()),
            cooperative: self.state.cooperative_wallet(),
            platform: self.state.platform_wallet(),
            artisan_bps: split.artisan,
            cooperative_bps: split.cooperative,
            platform_bps: split.platform,
            funding,
        };
        let mut payment = Payment::new(terms, "order.completed", None);
        let currency = amount.currency.code();
        let refused = match &receipt {
            None => Some("no confirmed receipt for this order: nothing is paid out".to_owned()),
            Some(r) if r.cancelled => {
                Some("the order was cancelled: nothing is paid out".to_owned())
            }
            _ if currency != self.state.settings.chain.payment_currency || amount.amount <= 0 => {
                Some(format!(
                    "cannot pay {} {currency} in the platform's payment token",
                    amount.amount
                ))
            }
            _ => None,
        };
        if let Some(why) = refused {
            tracing::warn!(order_id = o.order_id, why, "payout refused");
            payment.state = PaymentState::Failed;
            payment.last_error = Some(why);
        }
        tx.create(&o.order_id, &payment)?;
        Ok(())
    }
}

/// A provider's (or an admin's) confirmation of money collected off chain.
async fn record_paid(tx: &mut Txn, paid: &OrderPaid) -> Result<(), ConsumeError> {
    if paid.provider == "escrow" {
        // The deposit was recorded here when it was seen on chain.
        return Ok(());
    }
    if tx.get::<Receipt>(&paid.order_id).await?.is_some() {
        return Ok(());
    }
    let amount = events::money::required(paid.received.as_ref(), "received")?;
    tx.create(
        &paid.order_id,
        &Receipt {
            source: Source::Platform,
            provider: paid.provider.clone(),
            payment_id: paid.payment_id.clone(),
            amount,
            cancelled: false,
            recorded_at: Utc::now(),
        },
    )?;
    Ok(())
}
