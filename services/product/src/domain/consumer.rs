//! What the product service does with the events it subscribes to: AI
//! analysis and suggested prices fill the product's pending fields;
//! `payment.received` (an escrow deposit) pays an order, `payment.refunded`
//! shows its refund; `payment.executed` records the payout on the order.

use async_trait::async_trait;
use common::Money;
use events::v1::{
    AnalysisCompleted, PaymentExecuted, PaymentReceived, PaymentRefunded, PriceSuggested,
};
use events::{ConsumeError, Consumer, Received};
use store::Txn;

use crate::domain::orders::{Order, Payout};
use crate::domain::payments;
use crate::domain::products::{LANGUAGES, Pending, Product};
use crate::error::ProductError;
use crate::state::AppState;

/// The product service's consumer. Money an event leaves out stays unset;
/// money in an unknown currency refuses the event.
pub struct ProductConsumer {
    pub state: AppState,
}

/// A failure to apply an event: the store's is retried, the rest refuses it.
fn consume_error(e: ProductError) -> ConsumeError {
    match e {
        ProductError::Store(e) => ConsumeError::Store(e),
        other => ConsumeError::Invalid(other.to_string()),
    }
}

#[async_trait]
impl Consumer for ProductConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        if event.is::<AnalysisCompleted>() {
            let a = event.decode::<AnalysisCompleted>()?;
            let Some(mut p) = tx.get::<Product>(&a.product_id).await? else {
                return Ok(());
            };
            p.value.ai.status = Pending::Ready;
            p.value.ai.tags = a.tags;
            p.value.ai.quality_grade = (!a.quality_grade.is_empty()).then_some(a.quality_grade);
            p.value.ai.dominant_colors = a.dominant_colors;
            // Machine translations of the languages the artisan left out,
            // kept beside (never in) the artisan's own words.
            p.value.ai.translations = a
                .translated_description
                .into_iter()
                .filter(|(lang, text)| {
                    LANGUAGES.contains(&lang.as_str())
                        && !text.trim().is_empty()
                        && !p.value.description.contains_key(lang)
                })
                .collect();
            p.value.updated_at = common::time::now();
            tx.update(&p)?;
        } else if event.is::<PriceSuggested>() {
            let s = event.decode::<PriceSuggested>()?;
            let Some(mut p) = tx.get::<Product>(&s.product_id).await? else {
                return Ok(());
            };
            p.value.suggested_price.status = Pending::Ready;
            p.value.suggested_price.suggested = s.suggested.map(Money::try_from).transpose()?;
            p.value.suggested_price.low = s.low.map(Money::try_from).transpose()?;
            p.value.suggested_price.high = s.high.map(Money::try_from).transpose()?;
            p.value.suggested_price.method = (!s.method.is_empty()).then_some(s.method);
            p.value.updated_at = common::time::now();
            tx.update(&p)?;
        } else if event.is::<PaymentReceived>() {
            let received = event.decode::<PaymentReceived>()?;
            payments::receive_escrow(&self.state, tx, &received)
                .await
                .map_err(consume_error)?;
        } else if event.is::<PaymentRefunded>() {
            let refunded = event.decode::<PaymentRefunded>()?;
            payments::refund_escrowed(tx, &refunded)
                .await
                .map_err(consume_error)?;
        } else if event.is::<PaymentExecuted>() {
            let pay = event.decode::<PaymentExecuted>()?;
            let Some(mut o) = tx.get::<Order>(&pay.order_id).await? else {
                return Ok(());
            };
            o.value.payout = Some(Payout {
                tx_hash: pay.tx_hash,
                amount: pay.amount.map(Money::try_from).transpose()?,
                artisan_share: pay.artisan_share.map(Money::try_from).transpose()?,
                recorded_at: common::time::now(),
            });
            o.value.updated_at = common::time::now();
            tx.update(&o)?;
        }
        Ok(())
    }
}
