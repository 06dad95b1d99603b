//! Translation of a [`Query`] into SQLite SQL over `json_extract`.

use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use super::schema::table;
use crate::{Direction, Filter, Op, Query, StoreError, StoreResult};

/// SQL text with its positional parameters.
#[derive(Debug)]
pub(super) struct Sql {
    pub(super) text: String,
    pub(super) params: Vec<SqlValue>,
}

/// The SQL expression of a (validated) field path. Queries and `CREATE INDEX`
/// use this exact text so that the planner matches index expressions.
pub(super) fn field_expr(field: &str) -> String {
    if field == "id" {
        "id".to_owned()
    } else {
        format!("json_extract(data, '$.{field}')")
    }
}

/// A JSON value as the SQL value `json_extract` would return for it.
pub(super) fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Array(_) | Value::Object(_) => SqlValue::Text(value.to_string()),
    }
}

fn direction_sql(direction: Direction) -> &'static str {
    match direction {
        Direction::Asc => "ASC",
        Direction::Desc => "DESC",
    }
}

/// `SELECT id, version, data, created_at, updated_at FROM … WHERE … ORDER BY … LIMIT limit+1`
/// for a query already checked by [`Query::validate`].
pub(super) fn select(collection: &str, query: &Query) -> StoreResult<Sql> {
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    for filter in &query.filters {
        conditions.push(filter_sql(filter, &mut params)?);
    }
    for order in &query.order_by {
        if order.field != "id" {
            conditions.push(format!("{} IS NOT NULL", field_expr(&order.field)));
        }
    }

    // Sort keys: the order-by fields, then the id as tie-break.
    let mut keys: Vec<(String, Direction)> = query
        .order_by
        .iter()
        .map(|o| (field_expr(&o.field), o.direction))
        .collect();
    let orders_by_id = query.order_by.iter().any(|o| o.field == "id");
    if !orders_by_id {
        keys.push(("id".to_owned(), query.id_direction()));
    }

    if let Some(cursor) = &query.cursor {
        let (mut values, id) = cursor.decode(&query.order_by)?;
        if !orders_by_id {
            values.push(Value::String(id));
        }
        conditions.push(after_sql(&keys, &values, &mut params));
    }

    let mut text = format!(
        "SELECT id, version, data, created_at, updated_at FROM {}",
        table(collection)
    );
    if !conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    let order: Vec<String> = keys
        .iter()
        .map(|(expr, direction)| format!("{expr} {}", direction_sql(*direction)))
        .collect();
    text.push_str(" ORDER BY ");
    text.push_str(&order.join(", "));
    text.push_str(" LIMIT ?");
    params.push(SqlValue::Integer(
        i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX),
    ));
    Ok(Sql { text, params })
}

fn filter_sql(filter: &Filter, params: &mut Vec<SqlValue>) -> StoreResult<String> {
    let expr = field_expr(&filter.field);
    let value = &filter.value;
    let sql = match filter.op {
        Op::Eq if value.is_null() => format!("{expr} IS NULL"),
        Op::Ne if value.is_null() => format!("{expr} IS NOT NULL"),
        Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let op = match filter.op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                _ => ">=",
            };
            params.push(sql_value(value));
            // SQLite orders numbers before text; a range must not cross types.
            let guard = match (filter.op, value) {
                (Op::Eq | Op::Ne, _) => "",
                (_, Value::Number(_)) => " IN ('integer', 'real')",
                (_, Value::String(_)) => " = 'text'",
                _ => "",
            };
            if guard.is_empty() {
                format!("{expr} {op} ?")
            } else {
                format!("({expr} {op} ? AND typeof({expr}){guard})")
            }
        }
        Op::In => {
            let values = value.as_array().map(Vec::as_slice).unwrap_or_default();
            let mut placeholders = Vec::with_capacity(values.len());
            for v in values.iter().filter(|v| !v.is_null()) {
                params.push(sql_value(v));
                placeholders.push("?");
            }
            let list = format!("{expr} IN ({})", placeholders.join(", "));
            if values.iter().any(Value::is_null) {
                format!("({list} OR {expr} IS NULL)")
            } else {
                list
            }
        }
        Op::ArrayContains => {
            let path = match filter.field.as_str() {
                "id" => return Err(StoreError::InvalidQuery("the id is not an array".into())),
                field => format!("'$.{field}'"),
            };
            let test = if value.is_null() {
                "value IS NULL"
            } else {
                params.push(sql_value(value));
                "value = ?"
            };
            format!(
                "(json_type(data, {path}) = 'array' AND EXISTS (SELECT 1 FROM json_each(data, {path}) WHERE {test}))"
            )
        }
    };
    Ok(sql)
}

/// The condition "sorts after the cursor position". With one direction it is
/// a row-value comparison `(a, b, id) > (?, ?, ?)`; mixed directions expand
/// into `a > ? OR (a = ? AND b < ?) OR …`. Either way it is preceded by the
/// redundant bound `a >= ?` on the first key: SQLite only matches a row value
/// against an index when its first element is a plain column, so this bound
/// is what turns the cursor into an index range seek on `json_extract` keys.
fn after_sql(keys: &[(String, Direction)], values: &[Value], params: &mut Vec<SqlValue>) -> String {
    let greater = |direction| match direction {
        Direction::Asc => ">",
        Direction::Desc => "<",
    };
    let (Some((first_expr, first)), Some(first_value)) = (keys.first(), values.first()) else {
        return "1".to_owned();
    };
    if keys.len() == 1 {
        params.push(sql_value(first_value));
        return format!("{first_expr} {} ?", greater(*first));
    }
    params.push(sql_value(first_value));
    let bound = format!("{first_expr} {}= ?", greater(*first));
    if keys.iter().all(|k| k.1 == *first) {
        params.extend(values.iter().map(sql_value));
        let exprs: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let marks = vec!["?"; keys.len()].join(", ");
        return format!(
            "{bound} AND ({}) {} ({marks})",
            exprs.join(", "),
            greater(*first)
        );
    }
    let pairs: Vec<_> = keys.iter().zip(values).collect();
    let mut alternatives = Vec::with_capacity(pairs.len());
    for (i, &((expr, direction), value)) in pairs.iter().enumerate() {
        let mut terms = Vec::with_capacity(i + 1);
        for &((prefix, _), prefix_value) in &pairs[..i] {
            terms.push(format!("{prefix} = ?"));
            params.push(sql_value(prefix_value));
        }
        terms.push(format!("{expr} {} ?", greater(*direction)));
        params.push(sql_value(value));
        alternatives.push(format!("({})", terms.join(" AND ")));
    }
    format!("{bound} AND ({})", alternatives.join(" OR "))
}
