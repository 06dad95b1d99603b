//! From an event to the fact analytics keeps of it.

use events::v1::{
    AnalysisCompleted, EngagementRecorded, Money, OrderCancelled, OrderCompleted, OrderPaid,
    OrderPlaced, PriceSuggested, ProductCreated, ProductDeleted, ProductUpdated, SearchPerformed,
};
use events::{DecodeError, Received};

use super::{
    EngagementFact, Fact, Ingest, OrderFact, OrderStep, ProductFact, SearchFact, SuggestionFact,
};

/// The longest text kept of any field (titles, queries, regions): events
/// come from our own services, but a fact row stays bounded whatever they
/// carry.
const MAX_TEXT: usize = 300;
/// The most result ids kept of one search, and tags of one product.
const MAX_LIST: usize = 100;

fn text(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Rupees in paise; another currency (or none) is not a sale here.
fn inr(m: Option<&Money>) -> Option<i64> {
    m.filter(|m| m.currency == "INR").map(|m| m.amount)
}

/// The fact of `event`: its payload decoded, or [`Fact::Other`] for a type
/// analytics only counts.
pub fn ingest(event: &Received) -> Result<Ingest, DecodeError> {
    let fact = if event.is::<ProductCreated>() {
        let p = event.decode::<ProductCreated>()?;
        Fact::Product(ProductFact {
            product_id: p.product_id,
            artisan_id: p.artisan_id,
            title: text(p.title),
            category: text(p.category),
            subcategory: text(p.subcategory),
            region: text(p.region),
            price: inr(p.price.as_ref()),
            status: if p.status.is_empty() {
                "active".to_owned()
            } else {
                p.status
            },
        })
    } else if event.is::<ProductUpdated>() {
        let p = event.decode::<ProductUpdated>()?;
        Fact::Product(ProductFact {
            product_id: p.product_id,
            artisan_id: p.artisan_id,
            title: text(p.title),
            category: text(p.category),
            subcategory: text(p.subcategory),
            region: text(p.region),
            price: inr(p.price.as_ref()),
            status: p.status,
        })
    } else if event.is::<ProductDeleted>() {
        let p = event.decode::<ProductDeleted>()?;
        Fact::ProductDeleted {
            product_id: p.product_id,
        }
    } else if event.is::<AnalysisCompleted>() {
        let a = event.decode::<AnalysisCompleted>()?;
        Fact::Tags {
            product_id: a.product_id,
            tags: a.tags.into_iter().take(MAX_LIST).map(text).collect(),
        }
    } else if event.is::<EngagementRecorded>() {
        let e = event.decode::<EngagementRecorded>()?;
        Fact::Engagement(EngagementFact {
            product_id: e.product_id,
            artisan_id: e.artisan_id,
            kind: text(e.kind),
            count: i64::try_from(e.count).unwrap_or(i64::MAX),
            user_id: e.user_id,
            search_id: e.search_id,
        })
    } else if event.is::<OrderPlaced>() {
        let o = event.decode::<OrderPlaced>()?;
        Fact::Order(OrderFact {
            order_id: o.order_id,
            step: Some(OrderStep::Placed),
            product_id: o.product_id,
            artisan_id: o.artisan_id,
            buyer_id: o.buyer_id,
            quantity: i64::from(o.quantity.max(1)),
            total: inr(o.total.as_ref()),
            buyer_region: text(o.buyer_region),
            search_id: o.search_id,
            ..OrderFact::default()
        })
    } else if event.is::<OrderPaid>() {
        let o = event.decode::<OrderPaid>()?;
        Fact::Order(OrderFact {
            order_id: o.order_id,
            step: Some(OrderStep::Paid),
            artisan_id: o.artisan_id,
            buyer_id: o.buyer_id,
            total: inr(o.total.as_ref()),
            ..OrderFact::default()
        })
    } else if event.is::<OrderCompleted>() {
        let o = event.decode::<OrderCompleted>()?;
        Fact::Order(OrderFact {
            order_id: o.order_id,
            step: Some(OrderStep::Completed),
            product_id: o.product_id,
            artisan_id: o.artisan_id,
            buyer_id: o.buyer_id,
            quantity: i64::from(o.quantity),
            total: inr(o.total.as_ref()),
            unit_price: inr(o.unit_price.as_ref()),
            category: text(o.category),
            subcategory: text(o.subcategory),
            region: text(o.region),
            ..OrderFact::default()
        })
    } else if event.is::<OrderCancelled>() {
        let o = event.decode::<OrderCancelled>()?;
        Fact::Order(OrderFact {
            order_id: o.order_id,
            step: Some(OrderStep::Cancelled),
            artisan_id: o.artisan_id,
            buyer_id: o.buyer_id,
            ..OrderFact::default()
        })
    } else if event.is::<SearchPerformed>() {
        let s = event.decode::<SearchPerformed>()?;
        Fact::Search(SearchFact {
            search_id: s.search_id,
            query: text(s.query),
            result_ids: s.result_ids.into_iter().take(MAX_LIST).collect(),
            total: i64::try_from(s.total).unwrap_or(i64::MAX),
        })
    } else if event.is::<PriceSuggested>() {
        let p = event.decode::<PriceSuggested>()?;
        match (
            inr(p.suggested.as_ref()),
            inr(p.low.as_ref()),
            inr(p.high.as_ref()),
        ) {
            (Some(suggested), low, high) => Fact::Suggestion(SuggestionFact {
                product_id: p.product_id,
                suggested,
                low: low.unwrap_or(suggested),
                high: high.unwrap_or(suggested),
                method: text(p.method),
            }),
            _ => Fact::Other,
        }
    } else {
        Fact::Other
    };
    Ok(Ingest {
        event_id: event.event_id().to_owned(),
        event_type: event.event_type().to_owned(),
        subject: text(event.subject().to_owned()),
        at: event.occurred_at_micros().div_euclid(1_000_000),
        fact,
    })
}
