//! The events the service learns from: the product events keep its
//! listings (and a newly listed product gets its first suggestion);
//! `order.completed` is a sale, counted once per order into its markets.

use std::sync::Arc;

use async_trait::async_trait;
use common::Money;
use events::v1::{OrderCompleted, ProductCreated, ProductDeleted, ProductUpdated};
use events::{ConsumeError, Consumer, Received};
use store::Txn;

use super::Pricing;
use super::listing::{Listing, region_key};
use super::market::{Market, Sale};
use crate::error::PricingError;

pub struct PricingConsumer(pub Arc<Pricing>);

fn consume_error(e: PricingError) -> ConsumeError {
    match e {
        PricingError::Store(e) => ConsumeError::Store(e),
        other => ConsumeError::Invalid(other.to_string()),
    }
}

/// A product event that came before the product's `product.created` (they
/// travel on different topics): refused for now, so that it is delivered
/// again once the listing exists, and never lost.
fn not_yet(product_id: &str) -> ConsumeError {
    ConsumeError::Unavailable(format!(
        "product {product_id} is not yet known here: waiting for its product.created"
    ))
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

#[async_trait]
impl Consumer for PricingConsumer {
    async fn apply(&self, event: &Received, tx: &mut Txn) -> Result<(), ConsumeError> {
        let at = event.occurred_at_micros();
        if event.is::<ProductCreated>() {
            let p = event.decode::<ProductCreated>()?;
            let listing = Listing {
                artisan_id: p.artisan_id,
                category: p.category,
                subcategory: p.subcategory,
                region: non_empty(p.region),
                price: events::money::required(p.price.as_ref(), "price")?,
                materials: p.materials,
                production_time_days: (p.production_time_days > 0)
                    .then_some(p.production_time_days),
                status: non_empty(p.status).unwrap_or_else(|| "active".into()),
                as_of: at,
            };
            tx.set(&p.product_id, &listing)?;
            let when =
                chrono::DateTime::from_timestamp_micros(at).unwrap_or_else(common::time::now);
            self.0
                .initial(tx, &p.product_id, &listing, when)
                .await
                .map_err(consume_error)?;
        } else if event.is::<ProductUpdated>() {
            let p = event.decode::<ProductUpdated>()?;
            let Some(mut l) = tx.get::<Listing>(&p.product_id).await? else {
                return Err(not_yet(&p.product_id));
            };
            if l.value.as_of > at {
                return Ok(());
            }
            if let Some(price) = p.price.as_ref() {
                l.value.price = Money::try_from(price)?;
            }
            if let Some(status) = non_empty(p.status) {
                l.value.status = status;
            }
            if let Some(category) = non_empty(p.category) {
                // An event with these fields carries the product as it now is.
                l.value.category = category;
                l.value.subcategory = p.subcategory;
                l.value.region = non_empty(p.region);
                l.value.materials = p.materials;
                l.value.production_time_days =
                    (p.production_time_days > 0).then_some(p.production_time_days);
            }
            l.value.as_of = at;
            tx.update(&l)?;
        } else if event.is::<ProductDeleted>() {
            let p = event.decode::<ProductDeleted>()?;
            let Some(mut l) = tx.get::<Listing>(&p.product_id).await? else {
                return Err(not_yet(&p.product_id));
            };
            l.value.status = "deleted".into();
            l.value.as_of = l.value.as_of.max(at);
            tx.update(&l)?;
        } else if event.is::<OrderCompleted>() {
            let o = event.decode::<OrderCompleted>()?;
            record_sale(tx, o, at).await?;
        }
        Ok(())
    }
}

/// Count the sale of `o` once, into its region's market and its category's.
async fn record_sale(tx: &mut Txn, o: OrderCompleted, at_micros: i64) -> Result<(), ConsumeError> {
    if tx.get::<Sale>(&o.order_id).await?.is_some() {
        return Ok(());
    }
    let listing = tx.get::<Listing>(&o.product_id).await?.map(|l| l.value);
    // The event's own classification (as sold); a listing for events
    // older than those fields.
    let (category, subcategory, region) = match (non_empty(o.category), &listing) {
        (Some(c), _) => (c, o.subcategory, region_key(Some(&o.region))),
        (None, Some(l)) => (l.category.clone(), l.subcategory.clone(), l.region_key()),
        (None, None) => {
            tracing::warn!(order = %o.order_id, product = %o.product_id,
                "a completed order of an unknown product: not a market fact");
            return Ok(());
        }
    };
    let quantity = o.quantity.max(1);
    let unit_price = match o.unit_price.as_ref() {
        Some(p) => Money::try_from(p)?,
        None => {
            let total = events::money::required(o.total.as_ref(), "total")?;
            Money::new(total.amount / i64::from(quantity), total.currency)
        }
    };
    if unit_price.currency != common::Currency::INR || unit_price.amount <= 0 {
        // The markets are in rupees; a sale in another currency (or of
        // nothing) is acknowledged and left out.
        tracing::warn!(order = %o.order_id, %unit_price, "not a market price: left out");
        return Ok(());
    }
    let at = chrono::DateTime::from_timestamp_micros(at_micros).unwrap_or_else(common::time::now);
    if at > common::time::now() + chrono::Duration::days(1) {
        // A clock far ahead would push every real week out of the kept
        // history: acknowledged and left out.
        tracing::warn!(order = %o.order_id, %at, "a sale dated in the future: left out");
        return Ok(());
    }
    let sale = Sale {
        product_id: o.product_id,
        category,
        subcategory,
        region,
        quantity,
        unit_price: unit_price.amount,
        at,
        at_micros,
    };
    let mut ids = vec![Market::id(&sale.category, None)];
    if let Some(r) = sale.region.as_deref() {
        ids.push(Market::id(&sale.category, Some(r)));
    }
    for (i, id) in ids.iter().enumerate() {
        let region = if i == 0 { None } else { sale.region.as_deref() };
        match tx.get::<Market>(id).await? {
            Some(mut m) => {
                m.value.record(&sale);
                tx.update(&m)?;
            }
            None => {
                let mut m = Market::new(&sale.category, region);
                m.record(&sale);
                tx.set(id, &m)?;
            }
        }
    }
    tx.set(&o.order_id, &sale)?;
    Ok(())
}
