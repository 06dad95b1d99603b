//! Orders and their status machine:
//! placed → paid → shipped → delivered → completed, or cancelled before
//! shipping. Each move names who may make it.

pub mod money_in;
mod place;

pub use place::{NewOrder, Placed, change_status, place};

use chrono::{DateTime, Utc};
use common::Money;
use common::error::Validator;
use common::identity::{Caller, Role};
use serde::{Deserialize, Serialize};
use store::Entity;
use utoipa::ToSchema;

use self::money_in::{Checkout, PaymentFlag, Receipt, Refund};
use crate::error::ProductError;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    Paid,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
}

/// Who a move is made by, relative to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Buyer,
    Artisan,
    Admin,
    Service,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Who may move an order from `self` to `to`; empty when the move is
    /// not in the machine at all.
    fn movers(self, to: OrderStatus) -> &'static [Party] {
        use OrderStatus::*;
        use Party::*;
        match (self, to) {
            // Paid means money received: the provider's confirmation makes
            // it so (not a move anyone makes), or an admin with a reason.
            (Placed, Paid) => &[Admin],
            (Paid, Shipped) => &[Artisan, Admin],
            (Shipped, Delivered) => &[Buyer, Artisan, Admin],
            (Delivered, Completed) => &[Buyer, Admin, Service],
            // The service cancels orders left unpaid.
            (Placed | Paid, Cancelled) => &[Buyer, Artisan, Admin, Service],
            _ => &[],
        }
    }
}

/// Where the parcel goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    /// 1–100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub line1: String,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    /// 1–100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub city: String,
    /// 1–100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub state: String,
    /// 3–10 letters, digits, spaces or hyphens.
    #[schema(
        min_length = 3,
        max_length = 10,
        pattern = "^[A-Za-z0-9-][A-Za-z0-9 -]{1,8}[A-Za-z0-9-]$"
    )]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. IN.
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$")]
    pub country: String,
    /// 8–15 digits, with `+`, `-`, spaces and parentheses allowed among
    /// them; at most 32 characters in all.
    #[schema(max_length = 32, pattern = "^[+() -]*([0-9][+() -]*){8,15}$")]
    pub phone: String,
}

impl ShippingAddress {
    pub fn validate(&self, v: &mut Validator) {
        v.length("shipping_address.name", &self.name, 1, 100);
        v.length("shipping_address.line1", &self.line1, 1, 200);
        if let Some(line2) = &self.line2 {
            v.length("shipping_address.line2", line2, 0, 200);
        }
        v.length("shipping_address.city", &self.city, 1, 100);
        v.length("shipping_address.state", &self.state, 1, 100);
        let code = self.postal_code.trim();
        v.check(
            (3..=10).contains(&code.len())
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-'),
            "shipping_address.postal_code",
            "invalid",
            "is not a postal code",
        );
        v.check(
            self.country.len() == 2 && self.country.chars().all(|c| c.is_ascii_uppercase()),
            "shipping_address.country",
            "invalid",
            "must be an ISO 3166-1 alpha-2 code such as IN",
        );
        let digits = self.phone.chars().filter(char::is_ascii_digit).count();
        v.check(
            (8..=15).contains(&digits)
                && self.phone.len() <= 32
                && self
                    .phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+- ()".contains(c)),
            "shipping_address.phone",
            "invalid",
            "is not a phone number",
        );
    }
}

/// One step of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// The payout recorded from `payment.executed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Payout {
    pub tx_hash: String,
    pub amount: Option<Money>,
    pub artisan_share: Option<Money>,
    pub recorded_at: DateTime<Utc>,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub product_id: String,
    pub product_title: String,
    pub buyer_id: String,
    pub artisan_id: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub total: Money,
    pub shipping_address: ShippingAddress,
    pub status: OrderStatus,
    pub history: Vec<StatusChange>,
    pub payout: Option<Payout>,
    /// The payment in progress at a provider (after checkout).
    #[serde(default)]
    pub checkout: Option<Checkout>,
    /// Money received for the order, as its provider confirmed it.
    #[serde(default)]
    pub receipts: Vec<Receipt>,
    /// Money owed or given back.
    #[serde(default)]
    pub refunds: Vec<Refund>,
    /// For admins: money that could not be taken as this order's.
    #[serde(default)]
    pub flags: Vec<PaymentFlag>,
    /// A placed order not paid by then is cancelled.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Some refund waits to be asked of its provider.
    #[serde(default)]
    pub refund_due: bool,
    /// Why it was cancelled: `buyer`, `artisan`, `admin` or `expired`.
    #[serde(default)]
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Order {
    const COLLECTION: &'static str = "orders";
}

/// The first answer to an `Idempotency-Key`, keyed by buyer and key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub order_id: String,
    /// SHA-256 of the request body: the same key with another body is refused.
    pub request_hash: String,
}

impl Entity for IdempotencyRecord {
    const COLLECTION: &'static str = "order_idempotency";
}

impl Order {
    /// Move to `to` on behalf of `caller`: 403 when the caller may not make
    /// this move, 409 when the move is not allowed from here.
    pub fn transition(&mut self, to: OrderStatus, caller: &Caller) -> Result<(), ProductError> {
        let movers = self.status.movers(to);
        if movers.is_empty() {
            return Err(ProductError::IllegalTransition {
                from: self.status,
                to,
            });
        }
        let party = match caller.role {
            Role::Admin => Party::Admin,
            Role::Service => Party::Service,
            _ if caller.uid == self.buyer_id => Party::Buyer,
            _ if caller.uid == self.artisan_id => Party::Artisan,
            _ => return Err(ProductError::NotFound("order".to_owned())),
        };
        if !movers.contains(&party) {
            return Err(ProductError::Forbidden(
                format!("the {party:?} of an order cannot make this move").to_lowercase(),
            ));
        }
        let now = common::time::now();
        self.status = to;
        self.updated_at = now;
        self.history.push(StatusChange {
            status: to,
            at: now,
            by: caller.uid.clone(),
        });
        Ok(())
    }

    /// Whether `caller` may see this order.
    pub fn visible_to(&self, caller: &Caller) -> bool {
        caller.is_admin()
            || caller.is(Role::Service)
            || caller.uid == self.buyer_id
            || caller.uid == self.artisan_id
    }

    /// The order as `caller` (who may see it) sees it: payment flags and
    /// providers' error texts are for admins and services.
    pub fn seen_by(mut self, caller: &Caller) -> Self {
        if !(caller.is_admin() || caller.is(Role::Service)) {
            self.flags.clear();
            for refund in &mut self.refunds {
                refund.last_error = None;
            }
        }
        self
    }

    /// Record a move made on the order's behalf (not by a caller): by
    /// `by`, e.g. `provider:razorpay` or `expiry`.
    pub fn record(&mut self, to: OrderStatus, by: &str) {
        let now = common::time::now();
        self.status = to;
        self.updated_at = now;
        self.history.push(StatusChange {
            status: to,
            at: now,
            by: by.to_owned(),
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use common::ApiError;

    /// The status a refused move answers with.
    fn status_of(refused: Result<(), ProductError>) -> http::StatusCode {
        ApiError::from(refused.unwrap_err()).status()
    }

    fn caller(uid: &str, role: Role) -> Caller {
        Caller {
            uid: uid.into(),
            email: None,
            role,
        }
    }

    fn order() -> Order {
        let now = Utc::now();
        Order {
            product_id: "p".into(),
            product_title: "t".into(),
            buyer_id: "b".into(),
            artisan_id: "a".into(),
            quantity: 1,
            unit_price: Money::inr(100),
            total: Money::inr(100),
            shipping_address: ShippingAddress {
                name: "n".into(),
                line1: "l".into(),
                line2: None,
                city: "c".into(),
                state: "s".into(),
                postal_code: "700001".into(),
                country: "IN".into(),
                phone: "+91 98300 00000".into(),
            },
            status: OrderStatus::Placed,
            history: Vec::new(),
            payout: None,
            checkout: None,
            receipts: Vec::new(),
            refunds: Vec::new(),
            flags: Vec::new(),
            expires_at: None,
            refund_due: false,
            cancel_reason: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_happy_path_needs_the_right_party_at_each_step() {
        let (buyer, artisan) = (caller("b", Role::Buyer), caller("a", Role::Artisan));
        let mut o = order();
        assert_eq!(
            status_of(o.transition(OrderStatus::Shipped, &artisan)),
            http::StatusCode::CONFLICT
        );
        assert_eq!(
            status_of(o.transition(OrderStatus::Paid, &artisan)),
            http::StatusCode::FORBIDDEN
        );
        // Paid means money received: not the buyer's word, an admin's (with
        // a reason, checked where the reason is read) or the provider's.
        assert_eq!(
            status_of(o.transition(OrderStatus::Paid, &buyer)),
            http::StatusCode::FORBIDDEN
        );
        o.transition(OrderStatus::Paid, &caller("x", Role::Admin))
            .unwrap();
        assert_eq!(
            status_of(o.transition(OrderStatus::Shipped, &buyer)),
            http::StatusCode::FORBIDDEN
        );
        o.transition(OrderStatus::Shipped, &artisan).unwrap();
        assert_eq!(
            status_of(o.transition(OrderStatus::Cancelled, &buyer)),
            http::StatusCode::CONFLICT
        );
        o.transition(OrderStatus::Delivered, &buyer).unwrap();
        o.transition(OrderStatus::Completed, &buyer).unwrap();
        assert_eq!(o.history.len(), 4);
        assert_eq!(
            status_of(o.transition(OrderStatus::Placed, &caller("x", Role::Admin))),
            http::StatusCode::CONFLICT
        );
    }

    #[test]
    fn strangers_do_not_learn_an_order_exists() {
        let mut o = order();
        assert_eq!(
            status_of(o.transition(OrderStatus::Paid, &caller("z", Role::Buyer))),
            http::StatusCode::NOT_FOUND
        );
    }
}
