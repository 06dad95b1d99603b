//! A [`Query`] as a Firestore structured query.
//!
//! Firestore sorts by the order-by fields, then by the fields of inequality
//! filters that are not among them (in field path order, in the direction
//! of the last order-by field), then by the document name. The store's
//! contract only fixes the order-by fields and the id; the inequality
//! fields in between ("ties") are carried in the cursor so that a page
//! resumes exactly where the last one stopped.

use ::firestore::gcloud_sdk::google::firestore::v1::structured_query::{
    self as sq, CollectionSelector, CompositeFilter, FieldFilter, FieldReference, Order,
    UnaryFilter, composite_filter, field_filter, filter::FilterType, unary_filter,
};
use ::firestore::gcloud_sdk::google::firestore::v1::{
    ArrayValue, Cursor as FsCursor, StructuredQuery, Value as FsValue, value::ValueType,
};
use serde_json::Value;

use super::convert::{escape_key, to_value};
use crate::names::validate_id;
use crate::{Direction, Filter, Op, Query, StoreResult};

/// Firestore's name for the document-name pseudo field.
const NAME: &str = "__name__";

/// How one query is run: the structured query (its cursors are the
/// query's own, [`Query::cursor_after`], which carry the tie values).
pub(super) struct Plan {
    pub(super) structured: StructuredQuery,
}

/// Translates a validated query over `collection`, whose documents are
/// named `<parent>/<collection>/<id>`.
pub(super) fn plan(parent: &str, collection: &str, query: &Query) -> StoreResult<Plan> {
    let reference = |id: &str| FsValue {
        value_type: Some(ValueType::ReferenceValue(format!(
            "{parent}/{collection}/{id}"
        ))),
    };
    let filters: Vec<sq::Filter> = query
        .filters
        .iter()
        .map(|f| filter(f, &reference))
        .collect();
    let r#where = match filters.len() {
        0 => None,
        1 => filters.into_iter().next(),
        _ => Some(sq::Filter {
            filter_type: Some(FilterType::CompositeFilter(CompositeFilter {
                op: composite_filter::Operator::And as i32,
                filters,
            })),
        }),
    };

    let ties = query.tie_fields();
    let last = query.id_direction();
    let mut order_by: Vec<Order> = query
        .order_by
        .iter()
        .map(|o| order(&o.field, o.direction))
        .collect();
    order_by.extend(ties.iter().map(|field| order(field, last)));
    if !query.order_by.iter().any(|o| o.field == "id") {
        order_by.push(order("id", last));
    }

    let start_at = match &query.cursor {
        None => None,
        Some(cursor) => {
            let (values, tie_values, id) = cursor.decode_with_ties(&query.order_by)?;
            // A cursor is the client's to send back: anything Firestore
            // would refuse is an invalid cursor, not a failed query.
            let id_positions_ok = query.order_by.iter().zip(&values).all(|(o, v)| {
                o.field != "id" || v.as_str().is_some_and(|id| validate_id(id).is_ok())
            });
            if tie_values.len() != ties.len() || !id_positions_ok {
                return Err(crate::StoreError::InvalidCursor);
            }
            let mut cursor_values: Vec<FsValue> = query
                .order_by
                .iter()
                .zip(&values)
                .map(|(o, v)| cursor_value(&o.field, v, &reference))
                .collect();
            cursor_values.extend(tie_values.iter().map(|v| to_value(v, false)));
            if !query.order_by.iter().any(|o| o.field == "id") {
                cursor_values.push(reference(&id));
            }
            Some(FsCursor {
                values: cursor_values,
                before: false,
            })
        }
    };

    let structured = StructuredQuery {
        from: vec![CollectionSelector {
            collection_id: collection.to_owned(),
            all_descendants: false,
        }],
        r#where,
        order_by,
        start_at,
        // One more than asked: whether another page follows.
        limit: Some(i32::try_from(query.limit.saturating_add(1)).unwrap_or(i32::MAX)),
        ..StructuredQuery::default()
    };
    Ok(Plan { structured })
}

fn field_ref(field: &str) -> FieldReference {
    let field_path = if field == "id" {
        NAME.to_owned()
    } else {
        // Each segment as stored; an escaped one is quoted in the path.
        field
            .split('.')
            .map(|segment| match escape_key(segment) {
                std::borrow::Cow::Borrowed(plain) => plain.to_owned(),
                std::borrow::Cow::Owned(escaped) => format!("`{escaped}`"),
            })
            .collect::<Vec<_>>()
            .join(".")
    };
    FieldReference { field_path }
}

fn order(field: &str, direction: Direction) -> Order {
    let direction = match direction {
        Direction::Asc => sq::Direction::Ascending,
        Direction::Desc => sq::Direction::Descending,
    };
    Order {
        field: Some(field_ref(field)),
        direction: direction as i32,
    }
}

/// A filter's or cursor's value: ids compare as document references.
fn cursor_value(field: &str, value: &Value, reference: &dyn Fn(&str) -> FsValue) -> FsValue {
    match (field, value) {
        ("id", Value::String(id)) => reference(id),
        _ => to_value(value, false),
    }
}

fn filter(f: &Filter, reference: &dyn Fn(&str) -> FsValue) -> sq::Filter {
    let unary = |op: unary_filter::Operator| {
        FilterType::UnaryFilter(UnaryFilter {
            op: op as i32,
            operand_type: Some(unary_filter::OperandType::Field(field_ref(&f.field))),
        })
    };
    let field = |op: field_filter::Operator, value: FsValue| {
        FilterType::FieldFilter(FieldFilter {
            field: Some(field_ref(&f.field)),
            op: op as i32,
            value: Some(value),
        })
    };
    let kind = match f.op {
        Op::Eq if f.value.is_null() => unary(unary_filter::Operator::IsNull),
        Op::Ne if f.value.is_null() => unary(unary_filter::Operator::IsNotNull),
        Op::In => {
            let values = f.value.as_array().map(Vec::as_slice).unwrap_or_default();
            let values = values
                .iter()
                .map(|v| cursor_value(&f.field, v, reference))
                .collect();
            let array = FsValue {
                value_type: Some(ValueType::ArrayValue(ArrayValue { values })),
            };
            field(field_filter::Operator::In, array)
        }
        op => {
            let op = match op {
                Op::Eq => field_filter::Operator::Equal,
                Op::Ne => field_filter::Operator::NotEqual,
                Op::Lt => field_filter::Operator::LessThan,
                Op::Le => field_filter::Operator::LessThanOrEqual,
                Op::Gt => field_filter::Operator::GreaterThan,
                Op::Ge => field_filter::Operator::GreaterThanOrEqual,
                Op::ArrayContains | Op::In => field_filter::Operator::ArrayContains,
            };
            field(op, cursor_value(&f.field, &f.value, reference))
        }
    };
    sq::Filter {
        filter_type: Some(kind),
    }
}
