//! JSON documents as Firestore values, and versions as update times.
//!
//! JSON maps onto Firestore's types one to one, with two exceptions that a
//! marker map keeps reversible: Firestore refuses an array directly inside
//! an array, and a document must be a map. Markers are keys starting with
//! `~`; a key of the data that starts with `~`, or that Firestore reserves
//! (`__…__`), is stored with one more `~` in front, so every key round
//! trips. Integers that fit `i64` stay integers; other numbers are doubles
//! (Firestore compares the two numerically, as SQLite does; an integer
//! beyond `i64` loses precision).

use std::collections::HashMap;

use ::firestore::gcloud_sdk::google::firestore::v1::{
    ArrayValue, Document as FsDocument, MapValue, Value as FsValue, value::ValueType,
};
use ::firestore::gcloud_sdk::prost_types::Timestamp;
use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use crate::{Document, StoreError, StoreResult, Version};

/// The one field of a map that stands for an array inside an array.
const NESTED_ARRAY: &str = "~a";
/// The one field of a document whose data is not a JSON object.
const ROOT_VALUE: &str = "~r";

/// A key of the data as stored: markers' `~` and Firestore's reserved
/// `__…__` names are escaped with a leading `~`.
pub(super) fn escape_key(key: &str) -> std::borrow::Cow<'_, str> {
    let reserved = key.len() >= 4 && key.starts_with("__") && key.ends_with("__");
    if key.starts_with('~') || reserved {
        format!("~{key}").into()
    } else {
        key.into()
    }
}

/// A stored key as the data's (markers are handled by their maps).
fn unescape_key(key: &str) -> &str {
    if key.starts_with("~~") || key.starts_with("~_") {
        &key[1..]
    } else {
        key
    }
}

/// A JSON value as a Firestore value (`nested`: inside an array).
pub(super) fn to_value(value: &Value, nested: bool) -> FsValue {
    let kind = match value {
        Value::Null => ValueType::NullValue(0),
        Value::Bool(b) => ValueType::BooleanValue(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ValueType::IntegerValue(i),
            None => ValueType::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => ValueType::StringValue(s.clone()),
        Value::Array(items) => {
            let array = ValueType::ArrayValue(ArrayValue {
                values: items.iter().map(|v| to_value(v, true)).collect(),
            });
            if nested {
                let inner = FsValue {
                    value_type: Some(array),
                };
                ValueType::MapValue(MapValue {
                    fields: HashMap::from([(NESTED_ARRAY.to_owned(), inner)]),
                })
            } else {
                array
            }
        }
        Value::Object(map) => ValueType::MapValue(MapValue {
            fields: to_fields(map),
        }),
    };
    FsValue {
        value_type: Some(kind),
    }
}

fn to_fields(map: &Map<String, Value>) -> HashMap<String, FsValue> {
    map.iter()
        .map(|(k, v)| (escape_key(k).into_owned(), to_value(v, false)))
        .collect()
}

/// A document's data as Firestore fields.
pub(super) fn data_to_fields(data: &Value) -> HashMap<String, FsValue> {
    match data {
        Value::Object(map) => to_fields(map),
        other => HashMap::from([(ROOT_VALUE.to_owned(), to_value(other, false))]),
    }
}

/// A Firestore value as JSON. Types JSON lacks (never written by this
/// backend) are kept readable: timestamps as RFC 3339, bytes as base64,
/// references as their path, geo points as `{latitude, longitude}`.
pub(super) fn from_value(value: &FsValue) -> Value {
    let Some(kind) = &value.value_type else {
        return Value::Null;
    };
    match kind {
        ValueType::NullValue(_) => Value::Null,
        ValueType::BooleanValue(b) => Value::Bool(*b),
        ValueType::IntegerValue(i) => Value::Number((*i).into()),
        ValueType::DoubleValue(d) => Number::from_f64(*d).map_or(Value::Null, Value::Number),
        ValueType::StringValue(s)
        | ValueType::ReferenceValue(s)
        | ValueType::FieldReferenceValue(s)
        | ValueType::VariableReferenceValue(s) => Value::String(s.clone()),
        ValueType::TimestampValue(t) => {
            Value::String(timestamp_to_datetime(t).map_or_else(String::new, |t| t.to_rfc3339()))
        }
        ValueType::BytesValue(b) => {
            use base64::Engine as _;
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        ValueType::GeoPointValue(p) => {
            serde_json::json!({ "latitude": p.latitude, "longitude": p.longitude })
        }
        ValueType::ArrayValue(a) => Value::Array(a.values.iter().map(from_value).collect()),
        ValueType::MapValue(m) => match m.fields.get(NESTED_ARRAY) {
            Some(inner) if m.fields.len() == 1 => from_value(inner),
            _ => from_fields(&m.fields),
        },
        ValueType::FunctionValue(_) | ValueType::PipelineValue(_) => Value::Null,
    }
}

fn from_fields(fields: &HashMap<String, FsValue>) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| (unescape_key(k).to_owned(), from_value(v)))
            .collect(),
    )
}

/// A stored document's data as JSON.
fn fields_to_data(fields: &HashMap<String, FsValue>) -> Value {
    match fields.get(ROOT_VALUE) {
        Some(root) if fields.len() == 1 => from_value(root),
        _ => from_fields(fields),
    }
}

/// A Firestore document as a store document; its id is the name's last part.
pub(super) fn document(doc: &FsDocument) -> StoreResult<Document> {
    let id = doc
        .name
        .rsplit_once('/')
        .map(|(_, id)| id.to_owned())
        .ok_or_else(|| StoreError::failed(format!("document name {:?}", doc.name)))?;
    let time = |t: &Option<Timestamp>, what: &str| {
        t.as_ref()
            .and_then(timestamp_to_datetime)
            .ok_or_else(|| StoreError::failed(format!("document {id} without {what}")))
    };
    let updated_at = time(&doc.update_time, "update time")?;
    Ok(Document {
        version: version_of(&updated_at),
        created_at: time(&doc.create_time, "create time")?,
        updated_at,
        data: fields_to_data(&doc.fields),
        id,
    })
}

/// A version is the document's update time in nanoseconds since the epoch
/// (Firestore keeps microseconds, so the round trip is exact).
pub(super) fn version_of(updated_at: &DateTime<Utc>) -> Version {
    Version(updated_at.timestamp_nanos_opt().unwrap_or(i64::MAX))
}

/// The update time a version stands for.
pub(super) fn version_timestamp(version: Version) -> Timestamp {
    Timestamp {
        seconds: version.0.div_euclid(1_000_000_000),
        nanos: i32::try_from(version.0.rem_euclid(1_000_000_000)).unwrap_or(0),
    }
}

pub(super) fn timestamp_to_datetime(t: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_firestore_values() {
        let data = json!({
            "s": "text", "i": -7, "big": 9_007_199_254_740_993_i64, "f": 2.5, "whole": 2.0,
            "b": true, "n": null, "empty": {}, "list": [1, "a", null, {"k": [1, 2]}],
            "nested": [[1, 2], [], [[3]]],
        });
        let fields = data_to_fields(&data);
        assert_eq!(fields_to_data(&fields), data);
        // An array inside an array became a marked map, which Firestore accepts.
        let Some(ValueType::ArrayValue(outer)) = &fields["nested"].value_type else {
            panic!("nested is an array");
        };
        assert!(
            outer
                .values
                .iter()
                .all(|v| matches!(v.value_type, Some(ValueType::MapValue(_))))
        );
    }

    #[test]
    fn keys_like_markers_or_reserved_names_round_trip() {
        let data = json!({
            "~a": 5, "~r": [1], "~~x": {"~a": [[1]]}, "__x__": 1, "__": 2, "_x": 3,
            "_nested_array_": {"~": true}, "m": {"~a": 1},
        });
        let fields = data_to_fields(&data);
        assert!(
            fields
                .keys()
                .all(|k| !(k.starts_with("__") && k.ends_with("__") && k.len() >= 4))
        );
        assert_eq!(fields_to_data(&fields), data);
        assert_eq!(
            fields_to_data(&data_to_fields(&json!({"~r": 1}))),
            json!({"~r": 1})
        );
    }

    #[test]
    fn data_that_is_not_an_object_round_trips() {
        for data in [json!([1, 2]), json!("x"), json!(null), json!(3)] {
            assert_eq!(fields_to_data(&data_to_fields(&data)), data);
        }
    }

    #[test]
    fn versions_are_update_times() {
        let t = DateTime::parse_from_rfc3339("2026-12-06T10:11:12.345678Z")
            .unwrap()
            .with_timezone(&Utc);
        let v = version_of(&t);
        assert_eq!(timestamp_to_datetime(&version_timestamp(v)), Some(t));
    }
}
