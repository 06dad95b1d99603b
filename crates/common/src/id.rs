//! Resource ids: one parse rule for every id a client or a peer hands us
//! (products, orders, media, users). An id is 1 to [`Id::MAX_LEN`] ASCII
//! letters, digits, `-` or `_`, so it is safe in a URL path segment and in a
//! store key, and anything else is refused before it reaches either.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// A validated resource id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(String);

/// Why a string is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {max} letters, digits, '-' or '_'", max = Id::MAX_LEN)]
pub struct InvalidId;

impl Id {
    /// The longest id, in bytes.
    pub const MAX_LEN: usize = 128;
    /// The rule, as a regular expression (for the API description).
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{1,128}$";

    /// `raw` if it follows the rule.
    pub fn parse(raw: &str) -> Result<Id, InvalidId> {
        if Id::is_valid(raw) {
            Ok(Id(raw.to_owned()))
        } else {
            Err(InvalidId)
        }
    }

    /// Whether `raw` follows the rule.
    pub fn is_valid(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= Id::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// A new id: a UUIDv7 as 32 hex digits (time-ordered).
    pub fn generate() -> Id {
        Id(uuid::Uuid::now_v7().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl FromStr for Id {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::parse(s)
    }
}

impl TryFrom<String> for Id {
    type Error = InvalidId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if Id::is_valid(&s) {
            Ok(Id(s))
        } else {
            Err(InvalidId)
        }
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Id::try_from(s).map_err(|e| crate::bounded::message("invalid", e))
    }
}

impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Id::MAX_LEN))
            .pattern(Some(Id::PATTERN))
            .description(Some("An id: 1 to 128 letters, digits, '-' or '_'."))
            .into()
    }
}

impl utoipa::ToSchema for Id {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_follow_the_rule() {
        for good in ["a", "0", "p-1_x", &"k".repeat(128), "0198f3c2a7b47c31"] {
            assert_eq!(Id::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "a/b",
            "../x",
            "a b",
            "é",
            "a.b",
            "a?x=1",
            &"k".repeat(129),
        ] {
            assert_eq!(Id::parse(bad), Err(InvalidId), "{bad:?}");
        }
        assert!(serde_json::from_str::<Id>(r#""a/b""#).is_err());
        assert_eq!(serde_json::from_str::<Id>(r#""ab""#).unwrap(), "ab");
        assert!(Id::is_valid(&Id::generate()));
    }

    proptest! {
        #[test]
        fn an_id_is_exactly_what_the_pattern_allows(raw in "\\PC{0,140}") {
            let allowed = !raw.is_empty()
                && raw.len() <= 128
                && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            prop_assert_eq!(Id::parse(&raw).is_ok(), allowed);
        }

        #[test]
        fn every_valid_id_survives_serde_and_display(raw in "[A-Za-z0-9_-]{1,128}") {
            let id = Id::parse(&raw).unwrap();
            prop_assert_eq!(id.to_string(), raw.clone());
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
        }
    }
}
