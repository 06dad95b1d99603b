//! Money on the wire: `{"amount": <integer minor units>, "currency": "INR"}`.
//! Never a float: 1,499.00 rupees is `{"amount": 149900, "currency": "INR"}`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217 currency the platform accepts, with its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(&'static str, u8);

/// The currencies accepted today: INR first, and the ones buyers abroad pay in.
const CURRENCIES: &[Currency] = &[
    Currency("INR", 2),
    Currency("USD", 2),
    Currency("EUR", 2),
    Currency("GBP", 2),
    Currency("AED", 2),
    Currency("SGD", 2),
    Currency("AUD", 2),
    Currency("CAD", 2),
    Currency("JPY", 0),
];

impl Currency {
    pub const INR: Currency = Currency("INR", 2);

    pub fn code(&self) -> &'static str {
        self.0
    }

    /// Digits after the decimal point in the major unit (2 for INR, 0 for JPY).
    pub fn minor_unit_exponent(&self) -> u8 {
        self.1
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An unknown or malformed currency code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported currency {0:?}: expected an ISO 4217 code such as INR")]
pub struct UnknownCurrency(pub String);

impl FromStr for Currency {
    type Err = UnknownCurrency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CURRENCIES
            .iter()
            .find(|c| c.0 == s)
            .copied()
            .ok_or_else(|| UnknownCurrency(s.to_owned()))
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e| crate::bounded::message("invalid", e))
    }
}

/// An amount of money in integer minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Integer minor units (paise for INR).
    pub amount: i64,
    /// ISO 4217 code.
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn inr(paise: i64) -> Self {
        Self::new(paise, Currency::INR)
    }

    /// `self + other` when the currencies agree and nothing overflows.
    pub fn checked_add(&self, other: &Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_add(other.amount))
            .flatten()
            .map(|amount| Money::new(amount, self.currency))
    }

    /// `self × n` without overflow.
    pub fn checked_mul(&self, n: i64) -> Option<Money> {
        self.amount
            .checked_mul(n)
            .map(|amount| Money::new(amount, self.currency))
    }

    /// The share `bps / 10_000` of this amount, rounded down.
    pub fn basis_points(&self, bps: u16) -> Money {
        let share = i128::from(self.amount) * i128::from(bps) / 10_000;
        Money::new(i64::try_from(share).unwrap_or(i64::MAX), self.currency)
    }
}

/// A whole number with Indian digit grouping (the last three digits, then
/// pairs): 12,34,567.
pub fn group_indian(n: u64) -> String {
    let digits = n.to_string();
    if digits.len() <= 3 {
        return digits;
    }
    let (head, tail) = digits.split_at(digits.len() - 3);
    let mut parts: Vec<&str> = Vec::new();
    let mut rest = head;
    while rest.len() > 2 {
        let (a, b) = rest.split_at(rest.len() - 2);
        parts.push(b);
        rest = a;
    }
    parts.push(rest);
    parts.reverse();
    format!("{},{tail}", parts.join(","))
}

impl Money {
    /// As a person in India reads it: `₹12,34,567.50` (other currencies
    /// as their `Display`).
    pub fn to_local_string(&self) -> String {
        if self.currency != Currency::INR {
            return self.to_string();
        }
        let sign = if self.amount < 0 { "-" } else { "" };
        let p = self.amount.unsigned_abs();
        format!("{sign}₹{}.{:02}", group_indian(p / 100), p % 100)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = u32::from(self.currency.minor_unit_exponent());
        if exp == 0 {
            return write!(f, "{} {}", self.amount, self.currency);
        }
        let unit = 10i64.pow(exp);
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        let unit = unit.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / unit,
            abs % unit,
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_is_integer_minor_units_on_the_wire() {
        let m: Money = serde_json::from_str(r#"{"amount":149900,"currency":"INR"}"#).unwrap();
        assert_eq!(m, Money::inr(149_900));
        assert_eq!(m.to_string(), "1499.00 INR");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"amount":149900,"currency":"INR"}"#
        );
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"INR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"inr"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"XYZ"}"#).is_err());
        assert_eq!(Money::new(-5, Currency::INR).to_string(), "-0.05 INR");
    }

    #[test]
    fn mixing_currencies_does_not_add() {
        let usd = Money::new(1, "USD".parse().unwrap());
        assert!(Money::inr(1).checked_add(&usd).is_none());
        assert!(Money::inr(i64::MAX).checked_add(&Money::inr(1)).is_none());
    }

    proptest! {
        #[test]
        fn basis_point_shares_never_exceed_the_whole(amount in 0i64..=i64::MAX / 2, a in 0u16..=10_000) {
            let m = Money::inr(amount);
            let b = 10_000 - a;
            let total = m.basis_points(a).amount + m.basis_points(b).amount;
            prop_assert!(total <= amount);
            prop_assert!(amount - total <= 1);
        }
    }
}
