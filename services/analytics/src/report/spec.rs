//! What a report asks for, checked before anything is computed.

use common::catalogue::CATEGORIES;
use common::{ApiError, Caller, FieldError, Id, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::period::Period;
use crate::facts::{Dimension, Engagement, ReportQuery, ReportRow, Sales, Window};

/// A figure a report can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Revenue,
    Orders,
    Units,
    AverageOrderValue,
    Views,
    Likes,
    Shares,
    Clicks,
    Conversion,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Revenue,
        Metric::Orders,
        Metric::Units,
        Metric::AverageOrderValue,
        Metric::Views,
        Metric::Likes,
        Metric::Shares,
        Metric::Clicks,
        Metric::Conversion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Revenue => "revenue",
            Metric::Orders => "orders",
            Metric::Units => "units",
            Metric::AverageOrderValue => "average_order_value",
            Metric::Views => "views",
            Metric::Likes => "likes",
            Metric::Shares => "shares",
            Metric::Clicks => "clicks",
            Metric::Conversion => "conversion",
        }
    }

    /// Its heading in a table or chart.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Revenue => "Revenue",
            Metric::Orders => "Orders",
            Metric::Units => "Units",
            Metric::AverageOrderValue => "Average order value",
            Metric::Views => "Views",
            Metric::Likes => "Likes",
            Metric::Shares => "Shares",
            Metric::Clicks => "Search clicks",
            Metric::Conversion => "Conversion",
        }
    }

    /// Whether it is rupees (held in paise).
    pub fn is_money(self) -> bool {
        matches!(self, Metric::Revenue | Metric::AverageOrderValue)
    }

    /// Whether it needs engagement facts (which know no buyer region).
    pub fn needs_engagement(self) -> bool {
        matches!(
            self,
            Metric::Views | Metric::Likes | Metric::Shares | Metric::Clicks | Metric::Conversion
        )
    }

    /// Its value from sums of sales and engagement: paise for money, a
    /// ratio for conversion, a count otherwise. Ratios are computed from
    /// the sums, never averaged.
    pub fn value(self, s: Sales, e: Engagement) -> f64 {
        match self {
            Metric::Revenue => s.revenue as f64,
            Metric::Orders => s.orders as f64,
            Metric::Units => s.units as f64,
            Metric::AverageOrderValue => crate::domain::dashboard::average_order_value(s) as f64,
            Metric::Views => e.views as f64,
            Metric::Likes => e.likes as f64,
            Metric::Shares => e.shares as f64,
            Metric::Clicks => e.clicks as f64,
            Metric::Conversion => crate::domain::dashboard::conversion(s, e).unwrap_or(0.0),
        }
    }

    pub fn of(self, row: &ReportRow) -> f64 {
        self.value(row.sales, row.engagement)
    }
}

/// How the report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Rows in the answer.
    #[default]
    Json,
    /// Rows as CSV in the answer.
    Csv,
    /// A job rendering charts (SVG and PNG) and a PDF: 202, then
    /// `GET /analytics/reports/{id}`.
    Pdf,
}

/// What a report covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportFilters {
    /// One of the catalogue's categories.
    pub category: Option<String>,
    /// A product region (any case), at most 80 characters.
    #[schema(max_length = 80)]
    pub region: Option<String>,
    /// An artisan (artisans: themselves only, the default).
    #[schema(value_type = Option<Id>)]
    pub artisan_id: Option<String>,
    #[schema(value_type = Option<Id>)]
    pub product_id: Option<String>,
}

/// `POST /analytics/report`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Shown on the title page; any script; at most 200 characters.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// 1–9 of `revenue`, `orders`, `units`, `average_order_value`,
    /// `views`, `likes`, `shares`, `clicks`, `conversion`.
    #[schema(min_items = 1, max_items = 9)]
    pub metrics: Vec<String>,
    /// 0–2 of `day`, `week`, `month`, `category`, `region`, `product`,
    /// `buyer_region` (orders' figures only).
    #[serde(default)]
    #[schema(max_items = 2)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub filters: ReportFilters,
    #[serde(default)]
    pub period: Period,
    #[serde(default)]
    pub format: Format,
}

/// A checked report request, as a job keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSpec {
    pub title: String,
    pub metrics: Vec<Metric>,
    pub dimensions: Vec<Dimension>,
    pub filters: ReportFilters,
    pub period: Period,
    pub format: Format,
}

const MAX_METRICS: usize = 9;
const MAX_DIMENSIONS: usize = 2;
const MAX_TITLE_CHARS: usize = 200;
/// How much of an unknown name a problem repeats.
const ECHO_CHARS: usize = 40;

fn echo(s: &str) -> String {
    s.chars().take(ECHO_CHARS).collect()
}

fn bad(errors: &mut Vec<FieldError>, field: String, code: &str, message: String) {
    errors.push(FieldError::new(field, code, message));
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", ")
}

/// Check `req` for `caller`: 403 for anyone but artisans (their own
/// figures) and admins; 422 naming each field at fault.
pub fn check(req: ReportRequest, caller: &Caller) -> Result<ReportSpec, ApiError> {
    caller.require(&[Role::Artisan, Role::Admin])?;
    let mut errors = Vec::new();
    // Sizes first: nothing is done per element of an oversized list.
    if req.metrics.is_empty() || req.metrics.len() > MAX_METRICS {
        bad(
            &mut errors,
            "metrics".into(),
            "out_of_range",
            format!("1 to {MAX_METRICS} metrics"),
        );
    }
    if req.dimensions.len() > MAX_DIMENSIONS {
        bad(
            &mut errors,
            "dimensions".into(),
            "out_of_range",
            format!("at most {MAX_DIMENSIONS} dimensions"),
        );
    }
    let mut metrics = Vec::new();
    let mut dimensions = Vec::new();
    if errors.is_empty() {
        for (i, m) in req.metrics.iter().enumerate() {
            match Metric::ALL.iter().find(|x| x.name() == m) {
                Some(x) if metrics.contains(x) => {
                    bad(
                        &mut errors,
                        format!("metrics[{i}]"),
                        "duplicate",
                        format!("{} is asked twice", x.name()),
                    );
                }
                Some(x) => metrics.push(*x),
                None => bad(
                    &mut errors,
                    format!("metrics[{i}]"),
                    "unknown",
                    format!(
                        "no metric {:?}; one of {}",
                        echo(m),
                        names(&Metric::ALL, Metric::name)
                    ),
                ),
            }
        }
        for (i, d) in req.dimensions.iter().enumerate() {
            match Dimension::ALL.iter().find(|x| x.name() == d) {
                Some(x) if dimensions.contains(x) => {
                    bad(
                        &mut errors,
                        format!("dimensions[{i}]"),
                        "duplicate",
                        format!("{} is asked twice", x.name()),
                    );
                }
                Some(x) => dimensions.push(*x),
                None => bad(
                    &mut errors,
                    format!("dimensions[{i}]"),
                    "unknown",
                    format!(
                        "no dimension {:?}; one of {}",
                        echo(d),
                        names(&Dimension::ALL, Dimension::name)
                    ),
                ),
            }
        }
        if let Some(i) = dimensions.iter().position(|d| *d == Dimension::BuyerRegion)
            && let Some(m) = metrics.iter().find(|m| m.needs_engagement())
        {
            bad(
                &mut errors,
                format!("dimensions[{i}]"),
                "incompatible",
                format!(
                    "buyer_region is known for orders only, not for {}",
                    m.name()
                ),
            );
        }
        if dimensions.iter().filter(|d| d.is_time()).count() > 1 {
            bad(
                &mut errors,
                "dimensions".into(),
                "incompatible",
                "at most one of day, week and month".into(),
            );
        }
    }
    if let Some(t) = &req.title
        && (t.trim().is_empty() || t.chars().count() > MAX_TITLE_CHARS)
    {
        bad(
            &mut errors,
            "title".into(),
            "invalid",
            format!("1 to {MAX_TITLE_CHARS} characters, not blank"),
        );
    }
    let f = &req.filters;
    if let Some(c) = &f.category
        && !CATEGORIES.contains(&c.as_str())
    {
        bad(
            &mut errors,
            "filters.category".into(),
            "unknown",
            format!(
                "no category {:?}; one of {}",
                echo(c),
                CATEGORIES.join(", ")
            ),
        );
    }
    if let Some(r) = &f.region
        && (r.trim().is_empty() || r.chars().count() > 80)
    {
        bad(
            &mut errors,
            "filters.region".into(),
            "invalid",
            "1 to 80 characters, not blank".into(),
        );
    }
    for (field, id) in [
        ("filters.artisan_id", &f.artisan_id),
        ("filters.product_id", &f.product_id),
    ] {
        if let Some(id) = id
            && !Id::is_valid(id)
        {
            bad(&mut errors, field.into(), "invalid", "is not an id".into());
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut filters = req.filters;
    if !caller.is_admin() {
        match &filters.artisan_id {
            Some(a) if *a != caller.uid => {
                return Err(ApiError::forbidden(
                    "an artisan reports on their own figures only",
                ));
            }
            _ => filters.artisan_id = Some(caller.uid.clone()),
        }
    }
    let title = req.title.map(|t| t.trim().to_owned()).unwrap_or_else(|| {
        format!(
            "{} by {}",
            metrics
                .iter()
                .map(|m| m.label())
                .collect::<Vec<_>>()
                .join(", "),
            if dimensions.is_empty() {
                "total".to_owned()
            } else {
                dimensions
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(" and ")
            }
        )
    });
    Ok(ReportSpec {
        title,
        metrics,
        dimensions,
        filters,
        period: req.period,
        format: req.format,
    })
}

impl ReportSpec {
    /// The fact query of this report over `window`, at most `limit` rows.
    pub fn query(&self, window: Window, limit: usize) -> ReportQuery {
        ReportQuery {
            window,
            dimensions: self.dimensions.clone(),
            category: self.filters.category.clone(),
            region: self.filters.region.clone(),
            artisan_id: self.filters.artisan_id.clone(),
            product_id: self.filters.product_id.clone(),
            limit,
        }
    }

    /// The filters as `name: value` lines (the title page shows them).
    pub fn filter_lines(&self) -> Vec<(String, String)> {
        let f = &self.filters;
        [
            ("Category", &f.category),
            ("Region", &f.region),
            ("Artisan", &f.artisan_id),
            ("Product", &f.product_id),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v.clone()?)))
        .collect()
    }
}
