//! Report rows as CSV (RFC 4180): money in rupees with two decimals,
//! conversion as a ratio; a cell a spreadsheet would take for a formula is
//! prefixed with `'`.

use super::spec::{Metric, ReportSpec};
use crate::facts::ReportRow;

fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn number(metric: Metric, v: f64) -> String {
    if metric.is_money() {
        let p = v.round() as i64;
        let sign = if p < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:02}",
            p.unsigned_abs() / 100,
            p.unsigned_abs() % 100
        )
    } else if metric == Metric::Conversion {
        format!("{:.4}", v)
    } else {
        format!("{}", v.round() as i64)
    }
}

/// The CSV of `rows`.
pub fn write(spec: &ReportSpec, rows: &[ReportRow]) -> String {
    let mut header: Vec<String> = spec
        .dimensions
        .iter()
        .map(|d| d.name().to_owned())
        .collect();
    header.extend(spec.metrics.iter().map(|m| {
        if m.is_money() {
            format!("{}_inr", m.name())
        } else {
            m.name().to_owned()
        }
    }));
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        let mut line: Vec<String> = r.keys.iter().map(|k| cell(k)).collect();
        line.extend(spec.metrics.iter().map(|m| number(*m, m.of(r))));
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(cell("-1,2"), "\"'-1,2\"");
        assert_eq!(number(Metric::Revenue, 123_456.0), "1234.56");
        assert_eq!(number(Metric::Revenue, -5.0), "-0.05");
    }
}
