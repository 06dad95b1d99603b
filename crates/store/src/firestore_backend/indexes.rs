//! Firestore's composite indexes: the `firestore.indexes.json` a set of
//! [`IndexSpec`]s becomes, and which queries need one of them.
//!
//! Firestore serves a query from its automatic single-field indexes when
//! it has only equality filters, or a single sort or inequality field and
//! no equality filter; anything else needs a composite index: the equality
//! fields first (in any order), then the sort fields in the query's order
//! and directions, then the inequality fields it does not sort by. The
//! emulator runs every query regardless, so a store given the deployed
//! index file ([`FirestoreSettings::required_indexes`](super::FirestoreSettings))
//! refuses what production would refuse, and the tests find the gap first.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Direction, IndexSpec, Op, Query, StoreError, StoreResult};

/// The deployed indexes, as `firestore.indexes.json` holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirestoreIndexes {
    pub indexes: Vec<CompositeIndex>,
    #[serde(default)]
    pub field_overrides: Vec<serde_json::Value>,
}

/// One composite index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeIndex {
    pub collection_group: String,
    pub query_scope: String,
    pub fields: Vec<IndexField>,
}

/// One field of a composite index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexField {
    pub field_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_config: Option<String>,
}

fn order_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Asc => "ASCENDING",
        Direction::Desc => "DESCENDING",
    }
}

impl FirestoreIndexes {
    /// The composite indexes behind `specs` (one-field specs are served by
    /// Firestore's automatic indexes), sorted and without repeats.
    pub fn from_specs<'a>(specs: impl IntoIterator<Item = &'a IndexSpec>) -> Self {
        let mut indexes: BTreeSet<CompositeIndex> = BTreeSet::new();
        for spec in specs {
            if spec.fields.len() < 2 {
                continue;
            }
            let last = spec.fields.last().map_or(Direction::Asc, |f| f.1);
            let mut fields: Vec<IndexField> = spec
                .fields
                .iter()
                .map(|(path, direction)| IndexField {
                    field_path: path.clone(),
                    order: Some(order_name(*direction).to_owned()),
                    array_config: None,
                })
                .collect();
            fields.push(IndexField {
                field_path: "__name__".to_owned(),
                order: Some(order_name(last).to_owned()),
                array_config: None,
            });
            indexes.insert(CompositeIndex {
                collection_group: spec.collection.clone(),
                query_scope: "COLLECTION".to_owned(),
                fields,
            });
        }
        Self {
            indexes: indexes.into_iter().collect(),
            field_overrides: Vec::new(),
        }
    }

    /// Reads a `firestore.indexes.json`.
    pub fn parse(json: &str) -> StoreResult<Self> {
        serde_json::from_str(json)
            .map_err(|e| StoreError::failed(format!("reading the index file: {e}")))
    }

    /// `Ok` when Firestore can run `query` on `collection` with these
    /// indexes; else the index it would ask for.
    pub fn check(&self, collection: &str, query: &Query) -> Result<(), String> {
        let Some(needed) = Needed::of(query) else {
            return Ok(());
        };
        if self
            .indexes
            .iter()
            .filter(|index| index.collection_group == collection)
            .any(|index| needed.served_by(index))
        {
            return Ok(());
        }
        Err(format!(
            "no composite index on {collection} serves equality on {:?} ordered by {:?}",
            needed.equality, needed.ordered
        ))
    }
}

/// The composite index a query needs: its equality fields (with whether
/// the filter is array-contains) and its sort fields.
#[derive(Debug)]
struct Needed {
    equality: BTreeSet<(String, bool)>,
    ordered: Vec<(String, Direction)>,
    name_direction: Direction,
}

impl Needed {
    /// `None` when single-field indexes serve the query.
    fn of(query: &Query) -> Option<Self> {
        let mut equality = BTreeSet::new();
        let mut inequality = BTreeSet::new();
        for filter in query.filters.iter().filter(|f| f.field != "id") {
            match filter.op {
                Op::Eq | Op::In => {
                    equality.insert((filter.field.clone(), false));
                }
                Op::ArrayContains => {
                    equality.insert((filter.field.clone(), true));
                }
                // `!= null` too: Firestore sorts by the field.
                Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Ne => {
                    inequality.insert(filter.field.clone());
                }
            }
        }
        let mut ordered: Vec<(String, Direction)> = query
            .order_by
            .iter()
            .take_while(|o| o.field != "id")
            .map(|o| (o.field.clone(), o.direction))
            .collect();
        let last = query.id_direction();
        for field in inequality {
            if !ordered.iter().any(|(f, _)| *f == field) {
                ordered.push((field, last));
            }
        }
        let single_field = ordered.is_empty() || (equality.is_empty() && ordered.len() == 1);
        (!single_field).then_some(Self {
            equality,
            ordered,
            name_direction: last,
        })
    }

    fn served_by(&self, index: &CompositeIndex) -> bool {
        let fields: Vec<&IndexField> = index
            .fields
            .iter()
            .filter(|f| f.field_path != "__name__")
            .collect();
        if fields.len() != self.equality.len() + self.ordered.len() {
            return false;
        }
        // The index ends with the document name in the query's last
        // direction (Firestore does not scan an index backwards).
        let name_direction = index
            .fields
            .iter()
            .find(|f| f.field_path == "__name__")
            .and_then(|f| f.order.as_deref())
            .unwrap_or("ASCENDING");
        if name_direction != order_name(self.name_direction) {
            return false;
        }
        let (prefix, rest) = fields.split_at(self.equality.len());
        let prefix: BTreeSet<(String, bool)> = prefix
            .iter()
            .map(|f| (f.field_path.clone(), f.array_config.is_some()))
            .collect();
        prefix == self.equality
            && rest
                .iter()
                .zip(&self.ordered)
                .all(|(f, (path, direction))| {
                    f.field_path == *path && f.order.as_deref() == Some(order_name(*direction))
                })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use Direction::{Asc, Desc};

    fn indexes() -> FirestoreIndexes {
        FirestoreIndexes::from_specs(&[
            IndexSpec::new("products", &[("status", Asc), ("created_at", Desc)]),
            IndexSpec::new(
                "products",
                &[("status", Asc), ("category", Asc), ("created_at", Desc)],
            ),
            IndexSpec::new("products", &[("updated_at", Asc)]),
        ])
    }

    #[test]
    fn one_field_specs_are_left_to_the_automatic_indexes() {
        let file = indexes();
        assert_eq!(file.indexes.len(), 2);
        let last = file.indexes[0].fields.last().unwrap();
        assert_eq!(
            (last.field_path.as_str(), last.order.as_deref()),
            ("__name__", Some("DESCENDING"))
        );
        let json = serde_json::to_string(&file).unwrap();
        assert_eq!(FirestoreIndexes::parse(&json).unwrap(), file);
    }

    #[test]
    fn which_queries_need_which_index() {
        let file = indexes();
        let served = [
            Query::new(),
            Query::new()
                .eq("status", "active")
                .eq("category", "textiles"),
            Query::new().order_by("created_at", Desc),
            Query::new().filter("price", Op::Gt, 5),
            Query::new()
                .eq("status", "active")
                .order_by("created_at", Desc),
            Query::new()
                .eq("category", "textiles")
                .eq("status", "active")
                .order_by("created_at", Desc),
            Query::new().eq("id", "p1").order_by("created_at", Asc),
        ];
        for query in served {
            assert_eq!(file.check("products", &query), Ok(()), "{query:?}");
        }
        let refused = [
            // The direction differs from the index's.
            Query::new()
                .eq("status", "active")
                .order_by("created_at", Asc),
            // Another collection.
            Query::new().eq("status", "x").order_by("created_at", Desc),
            Query::new()
                .eq("status", "active")
                .filter("price", Op::Lt, 9),
            Query::new().order_by("a", Asc).order_by("b", Asc),
            Query::new().filter("a", Op::Gt, 1).order_by("b", Asc),
            Query::new()
                .filter("tags", Op::ArrayContains, "red")
                .order_by("created_at", Desc),
        ];
        for (i, query) in refused.iter().enumerate() {
            let collection = if i == 1 { "orders" } else { "products" };
            assert!(file.check(collection, query).is_err(), "{query:?}");
        }
    }
}
