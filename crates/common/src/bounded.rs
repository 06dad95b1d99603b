//! Bounded lists and maps in request bodies: a field declared with one of
//! these stops being read at its maximum, so no request can make a service
//! do per-element work (parsing, normalising, validating, looking up) for
//! more elements than the field allows. The refusal is a 422 naming the
//! field (`too_many`), in our own words.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Tags {
//!     #[serde(deserialize_with = "common::bounded::vec::<_, _, 3>")]
//!     tags: Vec<String>,
//! }
//! let ok: Tags = serde_json::from_str(r#"{"tags": ["a", "b", "c"]}"#).unwrap();
//! assert_eq!(ok.tags.len(), 3);
//! assert!(serde_json::from_str::<Tags>(r#"{"tags": ["a", "b", "c", "d"]}"#).is_err());
//! ```
//!
//! Declare the same maximum in the schema (`#[schema(max_items = N)]` or
//! `max_properties`): the API conformance run sends one element more and
//! expects the refusal, so the two cannot drift apart unnoticed.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Marks a deserialisation message as ours: `extract` passes it to the
/// client as written (with its code) instead of a generic wording.
const OURS: char = '\u{1f}';

/// A deserialisation error in our own words, with a field-error code.
pub fn message<E: de::Error>(code: &str, text: impl fmt::Display) -> E {
    E::custom(format_args!("{OURS}{code}{OURS}{text}"))
}

/// The code and text of a message made by [`message`], if it is one.
pub(crate) fn ours(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix(OURS)?;
    rest.split_once(OURS)
}

fn too_many<E: de::Error>(max: usize) -> E {
    message("too_many", format_args!("must have at most {max} items"))
}

/// At most `N` elements.
pub fn vec<'de, D, T, const N: usize>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_seq(SeqVisitor::<T, N>(PhantomData))
}

/// An optional list of at most `N` elements (a patch's field; with
/// `#[serde(default)]`).
pub fn opt_vec<'de, D, T, const N: usize>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_option(OptionVisitor(SeqVisitor::<T, N>(PhantomData)))
}

/// At most `N` entries.
pub fn map<'de, D, K, V, const N: usize>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    deserializer.deserialize_map(MapVisitor::<K, V, N>(PhantomData))
}

/// An optional map of at most `N` entries.
pub fn opt_map<'de, D, K, V, const N: usize>(
    deserializer: D,
) -> Result<Option<BTreeMap<K, V>>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    deserializer.deserialize_option(OptionVisitor(MapVisitor::<K, V, N>(PhantomData)))
}

struct SeqVisitor<T, const N: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for SeqVisitor<T, N> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of at most {N} items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(N));
        while let Some(item) = seq.next_element()? {
            if out.len() == N {
                return Err(too_many(N));
            }
            out.push(item);
        }
        Ok(out)
    }
}

struct MapVisitor<K, V, const N: usize>(PhantomData<(K, V)>);

impl<'de, K, V, const N: usize> Visitor<'de> for MapVisitor<K, V, N>
where
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    type Value = BTreeMap<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object of at most {N} entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BTreeMap<K, V>, A::Error> {
        let mut out = BTreeMap::new();
        let mut seen = 0;
        while let Some((k, v)) = map.next_entry()? {
            seen += 1;
            if seen > N {
                return Err(message(
                    "too_many",
                    format_args!("must have at most {N} entries"),
                ));
            }
            out.insert(k, v);
        }
        Ok(out)
    }
}

struct OptionVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for OptionVisitor<V> {
    type Value = Option<V::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self.0).map(Some)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::extract::parse_json;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        #[serde(deserialize_with = "vec::<_, _, 3>")]
        tags: Vec<u32>,
        #[serde(default, deserialize_with = "opt_vec::<_, _, 2>")]
        more: Option<Vec<String>>,
        #[serde(default, deserialize_with = "map::<_, _, _, 2>")]
        names: BTreeMap<String, String>,
    }

    #[test]
    fn at_the_bound_is_read_and_past_it_is_a_named_too_many() {
        let ok: Body =
            parse_json(br#"{"tags":[1,2,3],"more":["a","b"],"names":{"a":"1","b":"2"}}"#).unwrap();
        assert_eq!(ok.tags, [1, 2, 3]);
        assert_eq!(ok.more.unwrap().len(), 2);
        let none: Body = parse_json(br#"{"tags":[],"more":null}"#).unwrap();
        assert!(none.more.is_none());

        for (body, field) in [
            (&br#"{"tags":[1,2,3,4]}"#[..], "tags"),
            (br#"{"tags":[],"more":["a","b","c"]}"#, "more"),
            (br#"{"tags":[],"names":{"a":"1","b":"2","c":"3"}}"#, "names"),
        ] {
            let problem = parse_json::<Body>(body).unwrap_err().to_problem();
            assert_eq!(problem.errors.len(), 1);
            let e = &problem.errors[0];
            assert_eq!(
                (e.field.as_str(), e.code.as_str()),
                (field, "too_many"),
                "{e:?}"
            );
            assert!(e.message.starts_with("must have at most"), "{e:?}");
        }
    }

    #[test]
    fn a_huge_list_is_refused_as_too_many() {
        let mut body = br#"{"tags":[1"#.to_vec();
        for _ in 0..200_000 {
            body.extend_from_slice(b",1");
        }
        body.extend_from_slice(b"]}");
        let problem = parse_json::<Body>(&body).unwrap_err().to_problem();
        assert_eq!(problem.errors[0].code, "too_many");
    }
}
