//! The events that become messages: each user told in their language, in
//! the app and by email (transactional: marketing opt-outs do not apply).
//! A message's id is made from the event's, and it is stored in the
//! transaction that marks the event applied, so a redelivered event sends
//! nothing twice.

use std::sync::Arc;

use async_trait::async_trait;
use common::Money;
use events::v1::{
    OrderCancelled, OrderCompleted, OrderPaid, OrderPlaced, OrderShipped, PaymentExecuted,
    PaymentReceived, PaymentRefunded, ReportReady, UserLoginAttacked, UserRegistered,
};
use events::{ConsumeError, Consumer, Received};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::{Entity, Txn};

use super::preferences::Recipient;
use super::queue::Request;
use super::{ChannelKind, Notification, Notifier, Priority};
use crate::error::NotificationError;

/// Who an order's messages go to, from its `order.placed` (payment
/// events name only the order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderParties {
    pub buyer_id: String,
    pub artisan_id: String,
}

impl Entity for OrderParties {
    const COLLECTION: &'static str = "order_parties";
}

pub struct NotificationConsumer(pub Arc<Notifier>);

/// The channels an event's message goes by.
const CHANNELS: [ChannelKind; 2] = [ChannelKind::InApp, ChannelKind::Email];

fn money(m: Option<&events::v1::Money>, field: &str) -> Result<String, ConsumeError> {
    Ok(events::money::required(m, field)?.to_local_string())
}

fn optional_money(m: Option<&events::v1::Money>) -> Option<String> {
    m.and_then(|m| Money::try_from(m).ok())
        .map(|m| m.to_local_string())
}

/// One message to be sent: to whom, which template, with what.
struct Tell {
    user_id: String,
    template: &'static str,
    data: Map<String, Value>,
    priority: Priority,
    /// An email address the event names (else the user's own).
    email_to: Option<String>,
}

fn tell(user_id: &str, template: &'static str, data: Value, priority: Priority) -> Tell {
    Tell {
        user_id: user_id.to_owned(),
        template,
        data: data.as_object().cloned().unwrap_or_default(),
        priority,
        email_to: None,
    }
}

async fn parties(tx: &mut Txn, order_id: &str) -> Result<OrderParties, ConsumeError> {
    tx.get::<OrderParties>(order_id)
        .await?
        .map(|p| p.value)
        .ok_or_else(|| {
            ConsumeError::Unavailable(format!(
                "order {order_id} is not yet known here: waiting for its order.placed"
            ))
        })
}

impl NotificationConsumer {
    /// The messages `event` asks for (and what it teaches about users and
    /// orders, written through `tx`).
    async fn tells(&self, event: &Received, tx: &mut Txn) -> Result<Vec<Tell>, ConsumeError> {
        use Priority::{High, Normal, Urgent};
        if event.is::<UserRegistered>() {
            let u = event.decode::<UserRegistered>()?;
            tx.set(
                &u.user_id,
                &Recipient {
                    email: u.email,
                    display_name: u.display_name.clone(),
                    role: u.role,
                    languages: u.languages,
                    region: u.region,
                },
            )?;
            return Ok(vec![tell(
                &u.user_id,
                "welcome",
                json!({"name": u.display_name}),
                Normal,
            )]);
        }
        if event.is::<UserLoginAttacked>() {
            let a = event.decode::<UserLoginAttacked>()?;
            let data = json!({"failures": a.failures, "address": a.last_client_address});
            return Ok(vec![tell(&a.user_id, "account_attacked", data, Urgent)]);
        }
        if event.is::<OrderPlaced>() {
            let o = event.decode::<OrderPlaced>()?;
            tx.set(
                &o.order_id,
                &OrderParties {
                    buyer_id: o.buyer_id.clone(),
                    artisan_id: o.artisan_id.clone(),
                },
            )?;
            let data = json!({
                "order_id": o.order_id,
                "quantity": o.quantity,
                "total": money(o.total.as_ref(), "total")?,
            });
            return Ok(vec![
                tell(&o.buyer_id, "order_placed", data.clone(), Normal),
                tell(&o.artisan_id, "new_order", data, High),
            ]);
        }
        if event.is::<OrderPaid>() {
            let o = event.decode::<OrderPaid>()?;
            let data = json!({"order_id": o.order_id, "total": money(o.total.as_ref(), "total")?});
            return Ok(vec![
                tell(&o.buyer_id, "payment_confirmed", data.clone(), Normal),
                tell(&o.artisan_id, "order_paid", data, High),
            ]);
        }
        if event.is::<OrderShipped>() {
            let o = event.decode::<OrderShipped>()?;
            return Ok(vec![tell(
                &o.buyer_id,
                "order_shipped",
                json!({"order_id": o.order_id}),
                Normal,
            )]);
        }
        if event.is::<OrderCompleted>() {
            let o = event.decode::<OrderCompleted>()?;
            return Ok(vec![tell(
                &o.buyer_id,
                "order_completed",
                json!({"order_id": o.order_id}),
                Normal,
            )]);
        }
        if event.is::<OrderCancelled>() {
            let o = event.decode::<OrderCancelled>()?;
            let data = json!({
                "order_id": o.order_id,
                "reason": o.reason,
                "refund": optional_money(o.refund.as_ref()),
            });
            return Ok(vec![
                tell(&o.buyer_id, "order_cancelled", data.clone(), Normal),
                tell(&o.artisan_id, "order_cancelled", data, Normal),
            ]);
        }
        if event.is::<PaymentReceived>() {
            let p = event.decode::<PaymentReceived>()?;
            let who = parties(tx, &p.order_id).await?;
            let data =
                json!({"order_id": p.order_id, "amount": money(p.amount.as_ref(), "amount")?});
            return Ok(vec![tell(&who.buyer_id, "payment_received", data, Normal)]);
        }
        if event.is::<PaymentRefunded>() {
            let p = event.decode::<PaymentRefunded>()?;
            let who = parties(tx, &p.order_id).await?;
            let data =
                json!({"order_id": p.order_id, "amount": money(p.amount.as_ref(), "amount")?});
            return Ok(vec![tell(&who.buyer_id, "refund_sent", data, Normal)]);
        }
        if event.is::<ReportReady>() {
            let r = event.decode::<ReportReady>()?;
            let mut url = self.0.settings.public_url.clone();
            url.set_path(&format!(
                "/analytics/reports/{}/files/report.pdf",
                r.report_id
            ));
            let data = json!({"title": r.title, "period": r.period, "pages": r.pages, "url": url.as_str()});
            let mut t = tell(&r.owner_id, "weekly_report", data, Normal);
            t.email_to = Some(r.email).filter(|e| !e.is_empty());
            return Ok(vec![t]);
        }
        if event.is::<PaymentExecuted>() {
            let p = event.decode::<PaymentExecuted>()?;
            let who = parties(tx, &p.order_id).await?;
            let data = json!({
                "order_id": p.order_id,
                "amount": money(p.artisan_share.as_ref(), "artisan_share")?,
                "tx_hash": p.tx_hash,
            });
            return Ok(vec![tell(&who.artisan_id, "payout_sent", data, High)]);
        }
        Ok(Vec::new())
    }
}

#[async_trait]
impl Consumer for NotificationConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        let tells = self.tells(event, tx).await?;
        let now = common::time::now();
        let mut queued = false;
        for (i, t) in tells.into_iter().enumerate() {
            for channel in CHANNELS {
                let id = format!("{}-{i}-{}", event.event_id(), channel.as_str());
                if tx.get::<Notification>(&id).await?.is_some() {
                    continue;
                }
                let request = Request {
                    user_id: t.user_id.clone(),
                    channel,
                    template: t.template.to_owned(),
                    data: t.data.clone(),
                    priority: t.priority,
                    source: format!("event:{}", event.event_id()),
                    email_to: t.email_to.clone(),
                };
                let message = self
                    .0
                    .prepare(tx, &request, "", now)
                    .await
                    .map_err(|e| match e {
                        NotificationError::Store(e) => ConsumeError::Store(e),
                        other => ConsumeError::Invalid(other.to_string()),
                    })?;
                tx.create(&id, &message)?;
                queued = true;
            }
        }
        if queued {
            self.0.wake.notify_one();
        }
        Ok(())
    }
}
