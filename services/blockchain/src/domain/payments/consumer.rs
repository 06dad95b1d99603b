//! The orders' events: `order.paid` records what was received for an order
//! (money a provider collected off chain, or the order's escrow deposit);
//! `order.cancelled` ends any payout of the order not yet signed and queues
//! its escrow refund; `order.completed` queues the payment of exactly what
//! was received for the order, from the platform's balance or released from
//! its escrow. A completed order with no receipt yet waits for one (events
//! may arrive in any order); nothing is ever paid without one. The
//! reconciliation loop pays what is queued.

use chrono::Utc;
use common::Id;
use events::v1::{OrderCancelled, OrderCompleted, OrderPaid};
use events::{ConsumeError, Consumer, Received};
use store::Txn;

use super::{Funding, Payment, PaymentState, Terms};
use crate::domain::escrow::{self, Cancelled, Deposit, Receipt, Source};
use crate::state::AppState;

const CANCELLED: &str = "the order was cancelled: nothing is paid out";

/// Records receipts, queues payments and escrow refunds, each event once.
pub struct PaymentConsumer {
    pub state: AppState,
}

#[async_trait::async_trait]
impl Consumer for PaymentConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        if event.is::<OrderPaid>() {
            let paid = event.decode::<OrderPaid>()?;
            valid_order(&paid.order_id)?;
            if let Some(receipt) = record_paid(tx, &paid).await? {
                self.start_waiting_payment(tx, &paid.order_id, &receipt)
                    .await?;
            }
            return Ok(());
        }
        if event.is::<OrderCancelled>() {
            let cancelled = event.decode::<OrderCancelled>()?;
            valid_order(&cancelled.order_id)?;
            escrow::queue_refund(tx, &cancelled.order_id).await?;
            stop_unsigned(tx, &cancelled.order_id).await?;
            return Ok(());
        }
        if event.is::<OrderCompleted>() {
            let completed = event.decode::<OrderCompleted>()?;
            valid_order(&completed.order_id)?;
            return self.queue_payout(tx, &completed).await;
        }
        Ok(())
    }
}

impl PaymentConsumer {
    /// `order.completed`: the order's payout, once.
    async fn queue_payout(&self, tx: &mut Txn, o: &OrderCompleted) -> Result<(), ConsumeError> {
        if tx.get::<Payment>(&o.order_id).await?.is_some() {
            return Ok(());
        }
        let receipt = tx.get::<Receipt>(&o.order_id).await?.map(|r| r.value);
        // Until a receipt says otherwise, the order's own word, never paid.
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
            funding: Funding::Platform,
        };
        let mut payment = Payment::new(terms, "order.completed", None);
        match &receipt {
            Some(r) => self.take_receipt(&o.order_id, &mut payment, r),
            None if tx.get::<Cancelled>(&o.order_id).await?.is_some() => {
                payment.state = PaymentState::Failed;
                payment.last_error = Some(CANCELLED.to_owned());
            }
            None => {
                payment.state = PaymentState::AwaitingReceipt;
                payment.last_error =
                    Some("no receipt for this order yet: paid once one arrives".to_owned());
            }
        }
        tx.create(&o.order_id, &payment)?;
        Ok(())
    }

    /// A receipt arrived for a completed order waiting for one.
    async fn start_waiting_payment(
        &self,
        tx: &mut Txn,
        order_id: &str,
        receipt: &Receipt,
    ) -> Result<(), ConsumeError> {
        if let Some(mut p) = tx.get::<Payment>(order_id).await?
            && p.value.state == PaymentState::AwaitingReceipt
        {
            self.take_receipt(order_id, &mut p.value, receipt);
            p.value.updated_at = Utc::now();
            tx.update(&p)?;
        }
        Ok(())
    }

    /// Pays what `receipt` says was received (queued), or nothing (failed).
    fn take_receipt(&self, order_id: &str, payment: &mut Payment, receipt: &Receipt) {
        // What is paid out is what was received, never the order's word.
        payment.terms.amount = receipt.amount;
        payment.terms.funding = match receipt.source {
            Source::Escrow => Funding::Escrow,
            Source::Platform => Funding::Platform,
        };
        let amount = receipt.amount;
        let currency = amount.currency.code();
        let refused = if receipt.cancelled {
            Some(CANCELLED.to_owned())
        } else if currency != self.state.settings.chain.payment_currency || amount.amount <= 0 {
            Some(format!(
                "cannot pay {} {currency} in the platform's payment token",
                amount.amount
            ))
        } else {
            None
        };
        if let Some(why) = refused {
            tracing::warn!(order_id, why, "payout refused");
            payment.state = PaymentState::Failed;
            payment.last_error = Some(why);
        } else {
            payment.state = PaymentState::Queued;
            payment.last_error = None;
        }
    }
}

fn valid_order(order_id: &str) -> Result<(), ConsumeError> {
    if Id::is_valid(order_id) {
        Ok(())
    } else {
        Err(ConsumeError::Invalid(format!("order id {order_id:?}")))
    }
}

/// The product service's word that an order is paid: the receipt, once.
/// For a provider's money, an escrow deposit for the same order (made or
/// still to come) is owed back to its depositor.
async fn record_paid(tx: &mut Txn, paid: &OrderPaid) -> Result<Option<Receipt>, ConsumeError> {
    if tx.get::<Receipt>(&paid.order_id).await?.is_some() {
        return Ok(None);
    }
    let amount = events::money::required(paid.received.as_ref(), "received")?;
    let source = if paid.provider == "escrow" {
        // Judged from the deposit this service saw and announced.
        if tx.get::<Deposit>(&paid.order_id).await?.is_none() {
            return Err(ConsumeError::Invalid(format!(
                "order {} paid by an escrow deposit never seen",
                paid.order_id
            )));
        }
        Source::Escrow
    } else {
        escrow::queue_deposit_refund(tx, &paid.order_id).await?;
        Source::Platform
    };
    let receipt = Receipt {
        source,
        provider: paid.provider.clone(),
        payment_id: paid.payment_id.clone(),
        amount,
        cancelled: tx.get::<Cancelled>(&paid.order_id).await?.is_some(),
        recorded_at: Utc::now(),
    };
    tx.create(&paid.order_id, &receipt)?;
    Ok(Some(receipt))
}

/// `order.cancelled`: a payout not signed yet never will be.
async fn stop_unsigned(tx: &mut Txn, order_id: &str) -> Result<(), ConsumeError> {
    if let Some(mut p) = tx.get::<Payment>(order_id).await?
        && matches!(
            p.value.state,
            PaymentState::Queued | PaymentState::AwaitingWallet | PaymentState::AwaitingReceipt
        )
    {
        p.value.state = PaymentState::Failed;
        p.value.last_error = Some(CANCELLED.to_owned());
        p.value.release();
        tx.update(&p)?;
    }
    Ok(())
}
