//! SVG to PNG (resvg) and pages to PDF (krilla: each page's shapes drawn
//! from its SVG, its text set by krilla with the bundled fonts, embedded
//! and kept as text). Shaping (conjuncts, reordered vowel signs) is
//! rustybuzz's in both.

use krilla::Document;
use krilla::geom::{Point, Size, Transform};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use krilla_svg::{SurfaceExt as _, SvgSettings};
use resvg::tiny_skia;
use resvg::usvg;

use super::fonts;
use super::spec::ReportSpec;
use super::svg::{self, Cover, Page, ROWS_PER_PAGE};
use super::{Series, series, table};
use crate::facts::ReportRow;

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("an SVG of the report did not parse: {0}")]
    Svg(#[from] usvg::Error),
    #[error("a page could not be drawn")]
    Draw,
    #[error("the PDF could not be written: {0:?}")]
    Pdf(krilla::error::KrillaError),
    #[error("the PNG could not be written: {0}")]
    Png(String),
}

fn tree(svg: &str) -> Result<usvg::Tree, RenderError> {
    // Text is never in these SVGs (see `svg::text`): no fonts are needed.
    Ok(usvg::Tree::from_str(svg, &usvg::Options::default())?)
}

/// An SVG rasterised at `scale` × its size.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>, RenderError> {
    let tree = tree(svg)?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or(RenderError::Draw)?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or(RenderError::Draw)?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Png(e.to_string()))
}

/// `#rrggbb` as a krilla colour (black if it is not one).
fn colour(hex: &str) -> krilla::color::rgb::Color {
    let byte = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    krilla::color::rgb::Color::new(byte(1), byte(3), byte(5))
}

/// Pages as one PDF: each page's shapes drawn from its SVG, then its text
/// set by krilla (shaped by rustybuzz, one run per font, so the text
/// copies and searches as written).
pub fn pdf(pages: &[Page], title: &str) -> Result<Vec<u8>, RenderError> {
    let faces: Vec<(&str, bool, Font)> = fonts::FILES
        .iter()
        .filter_map(|(family, bold, data)| {
            Some((*family, *bold, Font::new(data.to_vec().into(), 0)?))
        })
        .collect();
    let font = |family: &str, bold: bool| {
        faces
            .iter()
            .find(|(f, b, _)| *f == family && *b == bold)
            .or_else(|| faces.iter().find(|(f, _, _)| *f == family))
            .map(|(_, _, font)| font.clone())
    };
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .creator("CraftChain X analytics".to_owned()),
    );
    for page_of in pages {
        let tree = tree(&page_of.svg)?;
        let settings = PageSettings::from_wh(svg::PAGE_W as f32, svg::PAGE_H as f32)
            .ok_or(RenderError::Draw)?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let size =
            Size::from_wh(svg::PAGE_W as f32, svg::PAGE_H as f32).ok_or(RenderError::Draw)?;
        surface
            .draw_svg(&tree, size, SvgSettings::default())
            .ok_or(RenderError::Draw)?;
        for t in &page_of.texts {
            let font = font(t.family, t.bold).ok_or(RenderError::Draw)?;
            surface.set_fill(Some(Fill {
                paint: colour(t.fill).into(),
                ..Fill::default()
            }));
            let (x, y) = (t.x as f32, t.y as f32);
            if let Some(deg) = t.rotate {
                let (sin, cos) = (deg as f32).to_radians().sin_cos();
                surface.push_transform(&Transform::from_row(
                    cos,
                    sin,
                    -sin,
                    cos,
                    x - cos * x + sin * y,
                    y - sin * x - cos * y,
                ));
            }
            surface.draw_text(
                Point::from_xy(x, y),
                font,
                t.size as f32,
                &t.text,
                false,
                TextDirection::Auto,
            );
            if t.rotate.is_some() {
                surface.pop();
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(RenderError::Pdf)
}

/// One chart, as both files.
pub struct Chart {
    /// `<metric>` (files are `<metric>.svg` and `<metric>.png`).
    pub name: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// A rendered report.
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: usize,
    pub charts: Vec<Chart>,
}

/// What the title page lists besides the filters.
pub struct Context {
    /// "30d: 2026-11-05 to 2026-12-05".
    pub period: String,
    pub generated_at: String,
    pub truncated: bool,
}

fn heading(s: &Series, spec: &ReportSpec) -> String {
    match spec.dimensions.first() {
        Some(d) => format!("{} by {}", s.metric.label(), d.name().replace('_', " ")),
        None => format!("{} in all", s.metric.label()),
    }
}

/// Render `rows` of `spec`: charts, then the PDF (title page, two charts a
/// page, the table with its header on every page). `progress` is told the
/// share done (0–1) as pages are drawn.
pub fn report(
    spec: &ReportSpec,
    rows: &[ReportRow],
    context: &Context,
    progress: &mut dyn FnMut(f64),
) -> Result<Rendered, RenderError> {
    let all = series(spec, rows);
    let mut charts = Vec::new();
    for (i, s) in all.iter().enumerate() {
        let file = svg::chart(s, &heading(s, spec));
        let png = png(&file, 2.0)?;
        charts.push(Chart {
            name: s.metric.name().to_owned(),
            svg: file,
            png,
        });
        progress(0.3 * (i + 1) as f64 / all.len().max(1) as f64);
    }
    let (header, cells) = table(spec, rows);
    let chart_pages = all.len().div_ceil(2);
    let table_pages = cells.len().div_ceil(ROWS_PER_PAGE).max(1);
    let pages = 1 + chart_pages + table_pages;
    let mut lines = vec![("Period".to_owned(), context.period.clone())];
    lines.extend(spec.filter_lines());
    lines.push((
        "Metrics".to_owned(),
        spec.metrics
            .iter()
            .map(|m| m.label())
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if !spec.dimensions.is_empty() {
        lines.push((
            "By".to_owned(),
            spec.dimensions
                .iter()
                .map(|d| d.name().replace('_', " "))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    lines.push((
        "Rows".to_owned(),
        if context.truncated {
            format!("{} (the limit: more were left out)", rows.len())
        } else {
            rows.len().to_string()
        },
    ));
    lines.push(("Generated".to_owned(), context.generated_at.clone()));
    let mut svgs = vec![svg::cover(
        &Cover {
            title: &spec.title,
            lines: &lines,
        },
        pages,
    )];
    for (i, pair) in all.chunks(2).enumerate() {
        let with_headings: Vec<(&Series, String)> =
            pair.iter().map(|s| (s, heading(s, spec))).collect();
        svgs.push(svg::chart_page(&with_headings, &spec.title, 2 + i, pages));
    }
    let mut chunks: Vec<&[Vec<String>]> = cells.chunks(ROWS_PER_PAGE).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    for (i, chunk) in chunks.iter().enumerate() {
        svgs.push(svg::table_page(
            &header,
            spec.dimensions.len(),
            chunk,
            &spec.title,
            2 + chart_pages + i,
            pages,
        ));
        progress(0.3 + 0.4 * (i + 1) as f64 / table_pages as f64);
    }
    let pdf = pdf(&svgs, &spec.title)?;
    progress(1.0);
    Ok(Rendered { pdf, pages, charts })
}
