//! Backend-neutral queries: filters, ordering, limits and opaque paging cursors.
//!
//! The semantics follow Firestore: results are ordered by the order-by fields
//! and then by document id (in the direction of the last order-by field, or
//! ascending without one); documents missing an order-by field are left out.
//! One latitude: among documents equal on the order-by fields, a backend may
//! first sort by the fields of inequality filters the query does not order
//! by (Firestore does); paging follows whatever order the backend returns.
//! Ordering by the id first must be ascending (Firestore does not scan
//! document keys backwards).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Document, StoreError, StoreResult};

/// Page size of a query that does not set one.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// Largest page a query may ask for.
pub(crate) const MAX_LIMIT: usize = 1000;
/// Most values an [`Op::In`] filter may list.
pub(crate) const MAX_IN_VALUES: usize = 30;
/// Longest cursor string accepted (cursors carry order-by values).
const MAX_CURSOR_LEN: usize = 16 * 1024;
/// Hex digits of the order-by fingerprint inside a cursor.
const ORDER_HASH_LEN: usize = 8;

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// The field equals one of the values of a JSON array (at most 30 scalars).
    In,
    /// The field is an array that contains the (scalar) value.
    ArrayContains,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

impl Direction {
    /// `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// One condition on a field (a dotted JSON path, or `id` for the document id).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: String,
    pub op: Op,
    pub value: Value,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub field: String,
    pub direction: Direction,
}

/// A query over one collection, built with [`Query::new`] and its builder
/// methods. Checked by [`Query::validate`] when it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filters: Vec<Filter>,
    pub order_by: Vec<OrderBy>,
    pub limit: usize,
    /// Resume after the document this cursor points at.
    pub cursor: Option<Cursor>,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            filters: Vec::new(),
            order_by: Vec::new(),
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn filter(mut self, field: &str, op: Op, value: impl Into<Value>) -> Self {
        self.filters.push(Filter {
            field: field.to_owned(),
            op,
            value: value.into(),
        });
        self
    }

    /// Shorthand for `filter(field, Op::Eq, value)`.
    pub fn eq(self, field: &str, value: impl Into<Value>) -> Self {
        self.filter(field, Op::Eq, value)
    }

    pub fn order_by(mut self, field: &str, direction: Direction) -> Self {
        self.order_by.push(OrderBy {
            field: field.to_owned(),
            direction,
        });
        self
    }

    /// Page size, at most 1000.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continue after a previous page's `next_cursor` (`None` starts over).
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Checks field paths, filter values, the limit and the cursor.
    pub fn validate(&self) -> StoreResult<()> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(StoreError::InvalidQuery(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {}",
                self.limit
            )));
        }
        for filter in &self.filters {
            validate_field_path(&filter.field)?;
            validate_filter_value(filter)?;
        }
        for order in &self.order_by {
            validate_field_path(&order.field)?;
        }
        if let Some(first) = self.order_by.first()
            && first.field == "id"
            && first.direction == Direction::Desc
        {
            // Firestore does not scan document keys backwards.
            return Err(StoreError::InvalidQuery(
                "ordering by the id first must be ascending".to_owned(),
            ));
        }
        if let Some(cursor) = &self.cursor {
            cursor.decode(&self.order_by)?;
        }
        Ok(())
    }

    /// Direction of the document-id tie-break: that of the last order-by field.
    pub fn id_direction(&self) -> Direction {
        self.order_by
            .last()
            .map(|o| o.direction)
            .unwrap_or_default()
    }

    /// The fields of unordered inequality filters (`!= null` included),
    /// in field path order: a backend may sort by them after the order-by
    /// fields (Firestore does), so cursors carry their values too.
    pub fn tie_fields(&self) -> Vec<String> {
        let mut ties: Vec<String> = self
            .filters
            .iter()
            .filter(|f| matches!(f.op, Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Ne))
            .map(|f| f.field.clone())
            .filter(|field| field != "id" && !self.order_by.iter().any(|o| &o.field == field))
            .collect();
        ties.sort();
        ties.dedup();
        ties
    }

    /// The cursor pointing just after `doc`, which this query returned.
    pub fn cursor_after(&self, doc: &Document) -> Cursor {
        self.cursor_after_data(&doc.id, &doc.data)
    }

    /// The cursor pointing just after the document `id` holding `data`,
    /// which this query returned: where a caller that reads a page and
    /// keeps only part of it stops.
    pub fn cursor_after_data(&self, id: &str, data: &Value) -> Cursor {
        let value_of = |field: &str| data_value(id, data, field).unwrap_or(Value::Null);
        let values = self.order_by.iter().map(|o| value_of(&o.field)).collect();
        let ties = self.tie_fields().iter().map(|f| value_of(f)).collect();
        Cursor::encode_with_ties(&self.order_by, values, ties, id)
    }
}

/// The value of a field path in a document's data (`id` is its id).
fn data_value(id: &str, data: &Value, path: &str) -> Option<Value> {
    if path == "id" {
        return Some(Value::String(id.to_owned()));
    }
    path.split('.')
        .try_fold(data, |value, key| value.get(key))
        .cloned()
}

/// Field paths are dotted identifiers (`price.amount`). They end up inside
/// SQL text, so this check is also the injection guard.
pub(crate) fn validate_field_path(path: &str) -> StoreResult<()> {
    let valid_segment = |segment: &str| {
        let mut chars = segment.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if path.split('.').all(valid_segment) {
        Ok(())
    } else {
        Err(StoreError::InvalidName(format!(
            "invalid field path {path:?}"
        )))
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

fn validate_filter_value(filter: &Filter) -> StoreResult<()> {
    let invalid = |why: &str| {
        Err(StoreError::InvalidQuery(format!(
            "filter on {:?} ({:?}): {why}",
            filter.field, filter.op
        )))
    };
    match filter.op {
        Op::In => match &filter.value {
            Value::Array(values) if values.len() > MAX_IN_VALUES => {
                invalid(&format!("at most {MAX_IN_VALUES} values"))
            }
            Value::Array(values) if values.iter().all(is_scalar) => Ok(()),
            _ => invalid("expects an array of scalars"),
        },
        Op::ArrayContains if filter.field == "id" => invalid("the id is not an array"),
        Op::Lt | Op::Le | Op::Gt | Op::Ge if filter.value.is_null() => {
            invalid("null cannot be compared")
        }
        _ if !is_scalar(&filter.value) => invalid("expects a scalar value"),
        _ => Ok(()),
    }
}

/// An opaque position in a query's results: base64url (no padding) of the
/// last returned document's order-by values, its id and a fingerprint of the
/// query's ordering, so a cursor cannot resume a differently ordered query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorBody {
    /// Fingerprint of the order-by spec.
    o: String,
    /// The order-by values of the last document.
    v: Vec<Value>,
    /// The last document's id.
    id: String,
    /// Values of sort keys a backend adds after the order-by fields (the
    /// inequality fields Firestore sorts by); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    t: Vec<Value>,
}

impl Cursor {
    /// Checks that `s` is a well-formed cursor (not yet that it fits a query).
    pub fn parse(s: &str) -> StoreResult<Self> {
        Self::body(s)?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Builds the cursor for a document with these order-by values.
    pub fn encode(order_by: &[OrderBy], values: Vec<Value>, id: &str) -> Self {
        Self::encode_with_ties(order_by, values, Vec::new(), id)
    }

    /// [`Cursor::encode`] with the values of the sort keys a backend adds
    /// after the order-by fields (see [`Cursor::decode_with_ties`]).
    pub fn encode_with_ties(
        order_by: &[OrderBy],
        values: Vec<Value>,
        ties: Vec<Value>,
        id: &str,
    ) -> Self {
        let body = CursorBody {
            o: order_hash(order_by),
            v: values,
            id: id.to_owned(),
            t: ties,
        };
        // Serializing Values and Strings cannot fail.
        let json = serde_json::to_vec(&body).unwrap_or_default();
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    /// The order-by values and document id, if the cursor fits `order_by`.
    pub fn decode(&self, order_by: &[OrderBy]) -> StoreResult<(Vec<Value>, String)> {
        let (values, _ties, id) = self.decode_with_ties(order_by)?;
        Ok((values, id))
    }

    /// The order-by values, the added sort keys' values and the document
    /// id, if the cursor fits `order_by`.
    pub fn decode_with_ties(
        &self,
        order_by: &[OrderBy],
    ) -> StoreResult<(Vec<Value>, Vec<Value>, String)> {
        let body = Self::body(&self.0)?;
        if body.o != order_hash(order_by) || body.v.len() != order_by.len() {
            return Err(StoreError::InvalidCursor);
        }
        Ok((body.v, body.t, body.id))
    }

    fn body(s: &str) -> StoreResult<CursorBody> {
        if s.is_empty() || s.len() > MAX_CURSOR_LEN {
            return Err(StoreError::InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| StoreError::InvalidCursor)?;
        let body: CursorBody =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
        let hash_ok = body.o.len() == ORDER_HASH_LEN
            && body
                .o
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hash_ok && crate::names::validate_id(&body.id).is_ok() {
            Ok(body)
        } else {
            Err(StoreError::InvalidCursor)
        }
    }
}

fn order_hash(order_by: &[OrderBy]) -> String {
    let mut hasher = Sha256::new();
    for order in order_by {
        hasher.update(order.field.as_bytes());
        hasher.update(b":");
        hasher.update(order.direction.as_str().as_bytes());
        hasher.update(b"\n");
    }
    let mut hex = hex::encode(hasher.finalize());
    hex.truncate(ORDER_HASH_LEN);
    hex
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Cursor {
    type Err = StoreError;

    fn from_str(s: &str) -> StoreResult<Self> {
        Self::parse(s)
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub docs: Vec<Document>,
    /// Set when more documents follow; pass it to [`Query::after`].
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests;
