//! Building blocks for describing request fields in the API description
//! exactly as the server checks them, for the rules the `utoipa` field
//! attributes cannot say alone: a string that is one of a list, a value
//! that may also be `null`, a wallet address.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    Type,
};

use crate::money::Currency;

/// "Not blank": the string has a character that is not whitespace. The
/// server trims text before counting it (`Validator::length`), so a
/// required text field is this pattern plus a `maxLength` on the raw
/// string (stricter than the trimmed count).
pub const NOT_BLANK: &str = r"\S";

/// `0x` and 40 hexadecimal digits; the EIP-55 checksum of the letters'
/// case is checked beyond it.
pub const WALLET_ADDRESS_PATTERN: &str = "^0x[0-9a-fA-F]{40}$";

/// What a wallet address is, for descriptions.
pub const WALLET_ADDRESS_RULE: &str = "An Ethereum address: `0x` and 40 hexadecimal digits, \
    in the EIP-55 mixed-case checksum form (the case of each letter is checked; \
    an all-lowercase address is refused).";

/// A string that is one of `values`.
pub fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// Text of at most `max` characters that is not blank (how
/// `Validator::length(field, text, 1, max)` checks it, the length taken on
/// the raw string, which is stricter than on the trimmed one).
pub fn not_blank(max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(NOT_BLANK))
}

/// `schema`, or `null` (an optional field that also accepts `null`).
pub fn or_null(schema: impl Into<RefOr<Schema>>) -> Schema {
    OneOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// `Money` in INR minor units (paise), `min` to `max` (the server refuses
/// another currency or amount with 422).
pub fn inr(min: i64, max: i64, description: &str) -> Object {
    ObjectBuilder::new()
        .description(Some(description))
        .property(
            "amount",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(min))
                .maximum(Some(max)),
        )
        .required("amount")
        .property("currency", string_enum([Currency::INR.code()]))
        .required("currency")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build()
}

/// A wallet address, checksummed (EIP-55).
pub fn wallet_address() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(WALLET_ADDRESS_PATTERN))
        .description(Some(WALLET_ADDRESS_RULE))
        .examples(["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_pieces_render_as_json_schema() {
        let e = serde_json::to_value(Schema::from(string_enum(["a", "b"]).build())).unwrap();
        assert_eq!(e, serde_json::json!({"type": "string", "enum": ["a", "b"]}));
        let n = serde_json::to_value(or_null(string_enum(["a"]))).unwrap();
        assert_eq!(n["oneOf"][1], serde_json::json!({"type": "null"}));
        let t = serde_json::to_value(Schema::from(not_blank(60).build())).unwrap();
        assert_eq!(
            (&t["maxLength"], &t["pattern"]),
            (&serde_json::json!(60), &serde_json::json!(NOT_BLANK))
        );
        let w = serde_json::to_value(Schema::from(wallet_address().build())).unwrap();
        assert_eq!(w["pattern"], WALLET_ADDRESS_PATTERN);
    }
}
