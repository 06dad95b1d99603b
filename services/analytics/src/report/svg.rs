//! Charts and report pages as SVG. Text is written as text in the bundled
//! Noto families; `render` shapes it (usvg, rustybuzz) into PNG and PDF.

use std::fmt::Write as _;

use super::fonts;
use super::spec::Metric;
use super::{Series, display};

/// A chart's size in its own units.
pub const CHART_W: f64 = 800.0;
pub const CHART_H: f64 = 400.0;

/// A4 in points, and the margin.
pub const PAGE_W: f64 = 595.0;
pub const PAGE_H: f64 = 842.0;
const MARGIN: f64 = 40.0;

/// `s` safe inside an XML text node or attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A vowel sign, virama or other mark of a Brahmic script (laid out alike
/// in each 128-point block from Devanagari to Malayalam), or a joiner:
/// a character that cannot end a cut string without a broken cluster.
fn is_dependent(c: char) -> bool {
    let u = c as u32;
    if matches!(u, 0x200C | 0x200D) {
        return true;
    }
    if !(0x0900..=0x0D7F).contains(&u) {
        return false;
    }
    let off = (u - 0x0900) % 0x80;
    off <= 0x03
        || (0x3A..=0x4D).contains(&off)
        || (0x51..=0x57).contains(&off)
        || (0x62..=0x63).contains(&off)
}

/// At most `max` characters of `s`, cut before a whole cluster and marked
/// with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    // A cluster cut in two: drop its marks and the consonant they follow.
    if s[out.len()..].chars().next().is_some_and(is_dependent) {
        while out.chars().last().is_some_and(is_dependent) {
            out.pop();
        }
        out.pop();
    }
    while out.chars().last().is_some_and(is_dependent) {
        out.pop();
    }
    out.push('…');
    out
}

/// The family of an Indian script's characters; `None` for the rest
/// (Latin, digits, punctuation: Noto Sans).
fn script_family(c: char) -> Option<&'static str> {
    match c as u32 {
        0x0900..=0x097F | 0xA8E0..=0xA8FF | 0x1CD0..=0x1CFF => Some("Noto Sans Devanagari"),
        0x0980..=0x09FF => Some("Noto Sans Bengali"),
        0x0B80..=0x0BFF => Some("Noto Sans Tamil"),
        0x0C00..=0x0C7F => Some("Noto Sans Telugu"),
        _ => None,
    }
}

/// `s` cut into runs of one family each. Spaces and joiners stay with the
/// run they are in, so a phrase in one script is shaped whole: a font
/// chosen character by character would break its conjuncts and reorder
/// nothing.
pub fn runs(s: &str) -> Vec<(Option<&'static str>, String)> {
    let mut out: Vec<(Option<&'static str>, String)> = Vec::new();
    for c in s.chars() {
        let family = if c == ' ' || matches!(c, '\u{200C}' | '\u{200D}') {
            out.last().and_then(|(f, _)| *f)
        } else {
            script_family(c)
        };
        match out.last_mut() {
            Some((f, run)) if *f == family => run.push(c),
            _ => out.push((family, c.to_string())),
        }
    }
    out
}

/// Where a line of text is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// How a line of text is set.
#[derive(Debug, Clone, Copy)]
struct Style {
    size: f64,
    bold: bool,
    fill: &'static str,
    anchor: Anchor,
    /// Degrees about the anchor point.
    rotate: Option<f64>,
}

impl Style {
    const fn new(size: f64, fill: &'static str) -> Self {
        Self {
            size,
            bold: false,
            fill,
            anchor: Anchor::Start,
            rotate: None,
        }
    }

    const fn bold(mut self) -> Self {
        self.bold = true;
        self
    }

    const fn anchor(mut self, anchor: Anchor) -> Self {
        self.anchor = anchor;
        self
    }
}

/// The width of `s` set in `style`, run by run.
fn measure(s: &str, style: Style) -> f64 {
    runs(s)
        .iter()
        .map(|(f, run)| fonts::width(run, f.unwrap_or(fonts::LATIN), style.bold, style.size))
        .sum()
}

/// As much of `s` as fits in `width` (cut as [`clip`] cuts).
fn fit(s: &str, width: f64, style: Style) -> String {
    if measure(s, style) <= width {
        return s.to_owned();
    }
    let (mut lo, mut hi) = (1, s.chars().count());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if measure(&clip(s, mid), style) <= width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    clip(s, lo)
}

/// Text the PDF writer sets itself (shaped by krilla, each run in its
/// own font), where an SVG would have a `<text>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub family: &'static str,
    pub bold: bool,
    /// `#rrggbb`.
    pub fill: &'static str,
    /// Degrees about (x, y).
    pub rotate: Option<f64>,
    pub text: String,
}

/// What is drawn on: SVG markup, and (for a PDF page) the text kept apart.
pub struct Canvas {
    pub svg: String,
    /// `Some` for a PDF page: text is placed here, not in the SVG.
    texts: Option<Vec<Placed>>,
    /// The translation and scale of what is drawn now (charts on a page).
    dx: f64,
    dy: f64,
    k: f64,
}

impl std::fmt::Write for Canvas {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.svg.push_str(s);
        Ok(())
    }
}

impl Canvas {
    /// For an SVG file: text as `<text>` elements.
    fn file() -> Self {
        Self {
            svg: String::new(),
            texts: None,
            dx: 0.0,
            dy: 0.0,
            k: 1.0,
        }
    }

    /// For a PDF page.
    fn page() -> Self {
        Self {
            texts: Some(Vec::new()),
            ..Self::file()
        }
    }
}

/// A PDF page: its shapes as SVG, its text to set.
pub struct Page {
    pub svg: String,
    pub texts: Vec<Placed>,
}

impl Canvas {
    fn finish(self, w: f64, h: f64) -> Page {
        Page {
            svg: svg(w, h, &self.svg),
            texts: self.texts.unwrap_or_default(),
        }
    }
}

/// A line of text, one run of a script at a time, each shaped in its own
/// family and placed after the measured runs before it. In an SVG file the
/// shaped glyphs are outlines (labelled with the text): SVG renderers lay
/// out Indian scripts badly (lost spaces, vowel signs out of place); on a
/// PDF page the runs go to the PDF writer, which embeds the fonts and
/// keeps the text.
fn text(out: &mut Canvas, x: f64, y: f64, style: Style, s: &str) {
    let runs = runs(s);
    let widths: Vec<f64> = runs
        .iter()
        .map(|(f, run)| fonts::width(run, f.unwrap_or(fonts::LATIN), style.bold, style.size))
        .collect();
    let total: f64 = widths.iter().sum();
    let mut cx = match style.anchor {
        Anchor::Start => x,
        Anchor::Middle => x - total / 2.0,
        Anchor::End => x - total,
    };
    if let Some(texts) = &mut out.texts {
        for ((family, run), w) in runs.iter().zip(widths) {
            let family = family.unwrap_or(fonts::LATIN);
            texts.push(Placed {
                x: out.dx + cx * out.k,
                y: out.dy + y * out.k,
                size: style.size * out.k,
                family,
                bold: style.bold && family == fonts::LATIN,
                fill: style.fill,
                rotate: style.rotate,
                text: run.clone(),
            });
            cx += w;
        }
        return;
    }
    let rotate = style
        .rotate
        .map(|deg| format!(r#" transform="rotate({deg} {x:.1} {y:.1})""#))
        .unwrap_or_default();
    let _ = write!(
        out,
        r#"<g role="img" aria-label="{}" fill="{}"{rotate}>"#,
        escape(s),
        style.fill
    );
    for ((family, run), w) in runs.iter().zip(widths) {
        let family = family.unwrap_or(fonts::LATIN);
        let bold = style.bold && family == fonts::LATIN;
        let d = fonts::path(run, family, bold, style.size, cx, y);
        if !d.is_empty() {
            let _ = write!(out, r#"<path d="{d}"/>"#);
        }
        cx += w;
    }
    out.svg.push_str("</g>");
}

/// A round step for about `n` ticks up to `max`.
fn nice_step(max: f64, n: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// The chart's elements in a 800×400 box (no `<svg>` around them).
fn chart_body(out: &mut Canvas, series: &Series, title: &str) {
    let (x0, x1, y0, y1) = (90.0, 780.0, 60.0, 320.0);
    let _ = write!(
        out,
        r##"<rect x="0" y="0" width="{CHART_W}" height="{CHART_H}" fill="#ffffff"/>"##
    );
    let heading = Style::new(20.0, "#1f2937").bold();
    text(
        out,
        20.0,
        34.0,
        heading,
        &fit(title, CHART_W - 40.0, heading),
    );
    let max = series.points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let step = if series.metric == Metric::Conversion {
        nice_step(max.max(0.01), 4.0)
    } else {
        nice_step(max, 4.0).max(1.0)
    };
    let top = (max / step).ceil().max(1.0) * step;
    let y_of = |v: f64| y1 - (v / top) * (y1 - y0);
    let mut tick = 0.0;
    while tick <= top + step / 2.0 {
        let y = y_of(tick);
        let _ = write!(
            out,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e5e7eb" stroke-width="1"/>"##
        );
        text(
            out,
            x0 - 8.0,
            y + 4.0,
            Style::new(12.0, "#4b5563").anchor(Anchor::End),
            &display(series.metric, tick),
        );
        tick += step;
    }
    let _ = write!(
        out,
        r##"<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="#6b7280" stroke-width="1.5"/>"##
    );
    let n = series.points.len().max(1);
    let slot = (x1 - x0) / n as f64;
    let rotate = n > 6;
    let label_every = n.div_ceil(12).max(1);
    if series.over_time {
        let mut path = String::new();
        for (i, (_, v)) in series.points.iter().enumerate() {
            let x = x0 + slot * (i as f64 + 0.5);
            let _ = write!(
                path,
                "{}{x:.1},{:.1}",
                if i == 0 { "" } else { " " },
                y_of(*v)
            );
        }
        let _ = write!(
            out,
            r##"<polyline points="{path}" fill="none" stroke="#b45309" stroke-width="2.5"/>"##
        );
        for (i, (_, v)) in series.points.iter().enumerate() {
            let x = x0 + slot * (i as f64 + 0.5);
            let _ = write!(
                out,
                r##"<circle cx="{x:.1}" cy="{:.1}" r="3.5" fill="#b45309"/>"##,
                y_of(*v)
            );
        }
    } else {
        for (i, (_, v)) in series.points.iter().enumerate() {
            let x = x0 + slot * (i as f64 + 0.15);
            let y = y_of(*v);
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#0f766e"/>"##,
                slot * 0.7,
                (y1 - y).max(0.0)
            );
        }
    }
    for (i, (label, _)) in series.points.iter().enumerate() {
        if i % label_every != 0 {
            continue;
        }
        let x = x0 + slot * (i as f64 + 0.5);
        let y = y1 + 18.0;
        let style = if rotate {
            Style {
                rotate: Some(-35.0),
                ..Style::new(12.0, "#374151").anchor(Anchor::End)
            }
        } else {
            Style::new(12.0, "#374151").anchor(Anchor::Middle)
        };
        let room = if rotate { 150.0 } else { slot - 4.0 };
        text(out, x, y, style, &fit(label, room, style));
    }
}

fn svg(w: f64, h: f64, body: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>"#
    )
}

/// A chart as a standalone SVG file.
pub fn chart(series: &Series, title: &str) -> String {
    let mut c = Canvas::file();
    chart_body(&mut c, series, title);
    svg(CHART_W, CHART_H, &c.svg)
}

/// What the title page says.
pub struct Cover<'a> {
    pub title: &'a str,
    /// `(label, value)` lines: the period, each filter, the metrics…
    pub lines: &'a [(String, String)],
}

fn footer(out: &mut Canvas, title: &str, page: usize, pages: usize) {
    let style = Style::new(8.0, "#6b7280");
    text(out, MARGIN, PAGE_H - 20.0, style, &fit(title, 380.0, style));
    text(
        out,
        PAGE_W - MARGIN,
        PAGE_H - 20.0,
        style.anchor(Anchor::End),
        &format!("page {page} of {pages}"),
    );
}

/// Lines of at most `width` characters, broken at spaces.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The title page.
pub fn cover(c: &Cover<'_>, pages: usize) -> Page {
    let mut out = Canvas::page();
    let mut y = 150.0;
    text(
        &mut out,
        MARGIN,
        90.0,
        Style::new(12.0, "#b45309").bold(),
        "CraftChain X · analytics report",
    );
    for line in wrap(c.title, 34).iter().take(5) {
        text(
            &mut out,
            MARGIN,
            y,
            Style::new(26.0, "#111827").bold(),
            line,
        );
        y += 34.0;
    }
    y += 30.0;
    for (label, value) in c.lines {
        text(&mut out, MARGIN, y, Style::new(12.0, "#6b7280"), label);
        for (i, line) in wrap(value, 60).iter().take(3).enumerate() {
            text(
                &mut out,
                MARGIN + 120.0,
                y + 16.0 * i as f64,
                Style::new(12.0, "#111827"),
                line,
            );
        }
        y += 16.0 * wrap(value, 60).len().clamp(1, 3) as f64 + 10.0;
    }
    footer(&mut out, c.title, 1, pages);
    out.finish(PAGE_W, PAGE_H)
}

/// A page of up to two charts (`page` of `pages`).
pub fn chart_page(charts: &[(&Series, String)], title: &str, page: usize, pages: usize) -> Page {
    let mut out = Canvas::page();
    let scale = (PAGE_W - 2.0 * MARGIN) / CHART_W;
    for (i, (series, heading)) in charts.iter().take(2).enumerate() {
        let y = MARGIN + 20.0 + i as f64 * (CHART_H * scale + 60.0);
        let _ = write!(
            out,
            r#"<g transform="translate({MARGIN} {y:.1}) scale({scale:.5})">"#
        );
        (out.dx, out.dy, out.k) = (MARGIN, y, scale);
        chart_body(&mut out, series, heading);
        (out.dx, out.dy, out.k) = (0.0, 0.0, 1.0);
        out.svg.push_str("</g>");
    }
    footer(&mut out, title, page, pages);
    out.finish(PAGE_W, PAGE_H)
}

/// Rows of a table page.
pub const ROWS_PER_PAGE: usize = 40;
const ROW_H: f64 = 17.5;
const CELL_SIZE: f64 = 9.0;

/// A page of the table: the header again, then `rows`.
pub fn table_page(
    header: &[String],
    numeric_from: usize,
    rows: &[Vec<String>],
    title: &str,
    page: usize,
    pages: usize,
) -> Page {
    let mut out = Canvas::page();
    let width = PAGE_W - 2.0 * MARGIN;
    // Dimension columns get twice a metric column's share.
    let weights: Vec<f64> = (0..header.len())
        .map(|i| if i < numeric_from { 2.0 } else { 1.0 })
        .collect();
    let total: f64 = weights.iter().sum::<f64>().max(1.0);
    let widths: Vec<f64> = weights.iter().map(|w| w / total * width).collect();
    let mut y = MARGIN + 10.0;
    let _ = write!(
        out,
        r##"<rect x="{MARGIN}" y="{y:.1}" width="{width:.1}" height="{ROW_H}" fill="#f3f4f6"/>"##
    );
    let cells = |out: &mut Canvas, y: f64, row: &[String], bold: bool| {
        let mut x = MARGIN;
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            let mut style = Style::new(CELL_SIZE, "#111827");
            style.bold = bold;
            if i >= numeric_from {
                style.anchor = Anchor::End;
                text(
                    out,
                    x + w - 4.0,
                    y + 12.0,
                    style,
                    &fit(cell, w - 8.0, style),
                );
            } else {
                text(out, x + 4.0, y + 12.0, style, &fit(cell, w - 8.0, style));
            }
            x += w;
        }
    };
    cells(&mut out, y, header, true);
    y += ROW_H;
    for (i, row) in rows.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(
                out,
                r##"<rect x="{MARGIN}" y="{y:.1}" width="{width:.1}" height="{ROW_H}" fill="#fafaf9"/>"##
            );
        }
        cells(&mut out, y, row, false);
        y += ROW_H;
    }
    let _ = write!(
        out,
        r##"<line x1="{MARGIN}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d1d5db"/>"##,
        PAGE_W - MARGIN
    );
    footer(&mut out, title, page, pages);
    out.finish(PAGE_W, PAGE_H)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn clipping_never_leaves_half_a_cluster() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdefghij", 5), "abcd…");
        // "क्षेत्र": cut after क् would leave a dangling virama.
        let cut = clip("क्षेत्रीय कला", 3);
        assert!(!cut.trim_end_matches('…').ends_with('\u{94D}'), "{cut}");
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn each_script_is_one_run_with_its_spaces() {
        let r = runs("कांथा रेशमी · p2 মাসিক");
        let families: Vec<Option<&str>> = r.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            families,
            [
                Some("Noto Sans Devanagari"),
                None,
                Some("Noto Sans Bengali")
            ]
        );
        assert_eq!(r[0].1, "कांथा रेशमी ");
        assert_eq!(r[1].1, "· p2 ");
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(1000.0, 4.0), 500.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
        assert_eq!(nice_step(0.0, 4.0), 1.0);
    }
}
