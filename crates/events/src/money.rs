//! Money on the wire of events (`craftchain.events.v1.Money`) and in the
//! services (`common::Money`), converted in one place.

use common::money::{Money, UnknownCurrency};

use crate::push::ConsumeError;
use crate::v1;

impl From<Money> for v1::Money {
    fn from(m: Money) -> Self {
        v1::Money {
            amount: m.amount,
            currency: m.currency.code().to_owned(),
        }
    }
}

impl TryFrom<&v1::Money> for Money {
    type Error = UnknownCurrency;

    fn try_from(m: &v1::Money) -> Result<Self, Self::Error> {
        Ok(Money::new(m.amount, m.currency.parse()?))
    }
}

impl TryFrom<v1::Money> for Money {
    type Error = UnknownCurrency;

    fn try_from(m: v1::Money) -> Result<Self, Self::Error> {
        Money::try_from(&m)
    }
}

impl From<UnknownCurrency> for ConsumeError {
    fn from(e: UnknownCurrency) -> Self {
        ConsumeError::Invalid(e.to_string())
    }
}

/// The money an event must carry in `field`: absent or in an unknown
/// currency, the event can never be applied.
pub fn required(m: Option<&v1::Money>, field: &str) -> Result<Money, ConsumeError> {
    let m = m.ok_or_else(|| ConsumeError::Invalid(format!("{field} is missing")))?;
    Ok(Money::try_from(m)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::Currency;

    #[test]
    fn money_survives_the_round_trip_and_unknown_currencies_are_refused() {
        for m in [
            Money::inr(249_900),
            Money::new(-5, Currency::INR),
            Money::inr(0),
        ] {
            assert_eq!(Money::try_from(v1::Money::from(m)).ok(), Some(m));
        }
        let jpy: Currency = "JPY".parse().unwrap_or(Currency::INR);
        let yen = Money::new(1200, jpy);
        assert_eq!(v1::Money::from(yen).currency, "JPY");
        let odd = v1::Money {
            amount: 1,
            currency: "XXX".to_owned(),
        };
        assert!(Money::try_from(&odd).is_err());
        assert!(matches!(
            required(Some(&odd), "total"),
            Err(ConsumeError::Invalid(_))
        ));
        assert!(
            matches!(required(None, "total"), Err(ConsumeError::Invalid(r)) if r.contains("total"))
        );
    }
}
