//! Reports: rows of metrics by dimensions, as JSON, CSV, charts (SVG and
//! PNG) and a PDF whose text is shaped in every script of the catalogue.

pub mod csv;
pub mod fonts;
pub mod render;
pub mod spec;
pub mod svg;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use self::spec::{Metric, ReportSpec};
use crate::facts::{Engagement, ReportRow, Sales};

/// Paise as rupees with Indian digit grouping: ₹12,34,567.89.
pub fn rupees(paise: i64) -> String {
    common::Money::inr(paise).to_local_string()
}

pub use common::money::group_indian as group;

/// A metric's value as a person reads it.
pub fn display(metric: Metric, value: f64) -> String {
    if metric.is_money() {
        rupees(value.round() as i64)
    } else if metric == Metric::Conversion {
        format!("{:.1}%", value * 100.0)
    } else {
        let v = value.round() as i64;
        let s = group(v.unsigned_abs());
        if v < 0 { format!("-{s}") } else { s }
    }
}

/// A report's rows, ready for any format.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportData {
    pub title: String,
    /// The dimensions' names, then the metrics'.
    pub columns: Vec<String>,
    /// One object per row: each dimension's value, then each metric's
    /// (money as `{amount, currency}` in paise, conversion as a ratio).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Map<String, Value>>,
    /// Whether rows were left out at the row limit.
    pub truncated: bool,
}

/// The rows of `spec` from fact rows.
pub fn data(spec: &ReportSpec, rows: &[ReportRow], truncated: bool) -> ReportData {
    let mut columns: Vec<String> = spec
        .dimensions
        .iter()
        .map(|d| d.name().to_owned())
        .collect();
    columns.extend(spec.metrics.iter().map(|m| m.name().to_owned()));
    let rows = rows
        .iter()
        .map(|r| {
            let mut o = Map::new();
            for (d, k) in spec.dimensions.iter().zip(&r.keys) {
                o.insert(d.name().to_owned(), Value::String(k.clone()));
            }
            for m in &spec.metrics {
                let v = m.of(r);
                let value = if m.is_money() {
                    serde_json::json!({"amount": v.round() as i64, "currency": "INR"})
                } else if *m == Metric::Conversion {
                    serde_json::json!(crate::domain::round4(v))
                } else {
                    serde_json::json!(v.round() as i64)
                };
                o.insert(m.name().to_owned(), value);
            }
            o
        })
        .collect();
    ReportData {
        title: spec.title.clone(),
        columns,
        rows,
        truncated,
    }
}

/// The cells of a table of `rows`: a header, then text cells.
pub fn table(spec: &ReportSpec, rows: &[ReportRow]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = spec
        .dimensions
        .iter()
        .map(|d| {
            let n = d.name().replace('_', " ");
            let mut c = n.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    header.extend(spec.metrics.iter().map(|m| m.label().to_owned()));
    let cells = rows
        .iter()
        .map(|r| {
            let mut row = r.keys.clone();
            row.extend(spec.metrics.iter().map(|m| display(*m, m.of(r))));
            row
        })
        .collect();
    (header, cells)
}

/// One chart's points: a label and a value each.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub metric: Metric,
    /// Whether the labels are times in order (a line), else categories (bars).
    pub over_time: bool,
    pub points: Vec<(String, f64)>,
}

/// The most bars a chart draws (the biggest).
const MAX_BARS: usize = 12;

/// A chart for each metric over the first dimension: rows are summed by
/// its value (ratios computed from the sums), the whole as one bar when
/// there is no dimension.
pub fn series(spec: &ReportSpec, rows: &[ReportRow]) -> Vec<Series> {
    let mut sums: BTreeMap<String, (Sales, Engagement)> = BTreeMap::new();
    for r in rows {
        let key = r
            .keys
            .first()
            .cloned()
            .unwrap_or_else(|| "Total".to_owned());
        let (s, e) = sums.entry(key).or_default();
        s.orders += r.sales.orders;
        s.units += r.sales.units;
        s.revenue += r.sales.revenue;
        e.views += r.engagement.views;
        e.likes += r.engagement.likes;
        e.shares += r.engagement.shares;
        e.clicks += r.engagement.clicks;
    }
    let over_time = spec.dimensions.first().is_some_and(|d| d.is_time());
    spec.metrics
        .iter()
        .map(|m| {
            let mut points: Vec<(String, f64)> = sums
                .iter()
                .map(|(k, (s, e))| (k.clone(), m.value(*s, *e)))
                .collect();
            if !over_time {
                points.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                points.truncate(MAX_BARS);
            }
            Series {
                metric: *m,
                over_time,
                points,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rupees_are_grouped_the_indian_way() {
        assert_eq!(rupees(123_456_789), "₹12,34,567.89");
        assert_eq!(rupees(99), "₹0.99");
        assert_eq!(rupees(100_000), "₹1,000.00");
        assert_eq!(rupees(-5_000), "-₹50.00");
        assert_eq!(group(1_000_000_000), "1,00,00,00,000");
        assert_eq!(display(Metric::Conversion, 0.125), "12.5%");
        assert_eq!(display(Metric::Orders, 1234.0), "1,234");
    }
}
