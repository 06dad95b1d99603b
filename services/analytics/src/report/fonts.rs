//! The fonts reports are set in, bundled in `fonts/` (Noto Sans, and Noto
//! Sans Devanagari, Bengali, Tamil and Telugu; SIL Open Font License,
//! `fonts/OFL.txt`), and the width of a run of text in one of them.
//!
//! Text is laid out here in runs of one script (see `svg::runs`): each
//! run is shaped whole by its own font, and placed after the width of the
//! runs before it. (Left to a renderer's per-character fallback, a phrase
//! in an Indian script loses its conjuncts and the order of its vowel
//! signs.)

use std::sync::LazyLock;

use std::fmt::Write as _;

use rustybuzz::{Face, UnicodeBuffer};

/// `(family, bold, file)`.
pub const FILES: [(&str, bool, &[u8]); 6] = [
    (
        "Noto Sans",
        false,
        include_bytes!("../../fonts/NotoSans-Regular.ttf"),
    ),
    (
        "Noto Sans",
        true,
        include_bytes!("../../fonts/NotoSans-Bold.ttf"),
    ),
    (
        "Noto Sans Devanagari",
        false,
        include_bytes!("../../fonts/NotoSansDevanagari-Regular.ttf"),
    ),
    (
        "Noto Sans Bengali",
        false,
        include_bytes!("../../fonts/NotoSansBengali-Regular.ttf"),
    ),
    (
        "Noto Sans Tamil",
        false,
        include_bytes!("../../fonts/NotoSansTamil-Regular.ttf"),
    ),
    (
        "Noto Sans Telugu",
        false,
        include_bytes!("../../fonts/NotoSansTelugu-Regular.ttf"),
    ),
];

/// The Latin family, for everything outside the Indian scripts.
pub const LATIN: &str = "Noto Sans";

static FACES: LazyLock<Vec<(&'static str, bool, Face<'static>)>> = LazyLock::new(|| {
    FILES
        .iter()
        .filter_map(|(family, bold, data)| Some((*family, *bold, Face::from_slice(data, 0)?)))
        .collect()
});

/// The face of `family` (bold where there is one).
fn face(family: &str, bold: bool) -> Option<&'static Face<'static>> {
    let faces = &*FACES;
    faces
        .iter()
        .find(|(f, b, _)| *f == family && *b == bold)
        .or_else(|| faces.iter().find(|(f, _, _)| *f == family))
        .map(|(_, _, face)| face)
}

/// An SVG path of glyph outlines, in user units.
struct Outline<'a> {
    d: &'a mut String,
    x: f32,
    y: f32,
    scale: f32,
}

impl Outline<'_> {
    fn point(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x + x * self.scale, self.y - y * self.scale)
    }
}

impl rustybuzz::ttf_parser::OutlineBuilder for Outline<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.point(x, y);
        let _ = write!(self.d, "M{x:.2} {y:.2}");
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.point(x, y);
        let _ = write!(self.d, "L{x:.2} {y:.2}");
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (x1, y1) = self.point(x1, y1);
        let (x, y) = self.point(x, y);
        let _ = write!(self.d, "Q{x1:.2} {y1:.2} {x:.2} {y:.2}");
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (x1, y1) = self.point(x1, y1);
        let (x2, y2) = self.point(x2, y2);
        let (x, y) = self.point(x, y);
        let _ = write!(self.d, "C{x1:.2} {y1:.2} {x2:.2} {y2:.2} {x:.2} {y:.2}");
    }

    fn close(&mut self) {
        self.d.push('Z');
    }
}

/// `text` shaped in `family` at `size` with its baseline starting at
/// (`x`, `y`), as the `d` of an SVG path: what an SVG file carries, so
/// that any renderer draws the shaped glyphs, not its own attempt.
pub fn path(text: &str, family: &str, bold: bool, size: f64, x: f64, y: f64) -> String {
    let mut d = String::new();
    let Some(face) = face(family, bold) else {
        return d;
    };
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(face, &[], buffer);
    let scale = (size / f64::from(face.units_per_em())) as f32;
    let mut pen = 0.0_f32;
    for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
        let Ok(id) = u16::try_from(info.glyph_id) else {
            continue;
        };
        let mut outline = Outline {
            d: &mut d,
            x: x as f32 + (pen + pos.x_offset as f32) * scale,
            y: y as f32 - pos.y_offset as f32 * scale,
            scale,
        };
        face.outline_glyph(rustybuzz::ttf_parser::GlyphId(id), &mut outline);
        pen += pos.x_advance as f32;
    }
    d
}

/// The advance of `text` shaped in `family` at `size`.
pub fn width(text: &str, family: &str, bold: bool, size: f64) -> f64 {
    let Some(face) = face(family, bold) else {
        return 0.0;
    };
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(face, &[], buffer);
    let units: i64 = shaped
        .glyph_positions()
        .iter()
        .map(|p| i64::from(p.x_advance))
        .sum();
    units as f64 * size / f64::from(face.units_per_em())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_font_parses_and_measures() {
        assert_eq!(FACES.len(), FILES.len());
        for (family, text) in [
            ("Noto Sans", "Revenue"),
            ("Noto Sans Devanagari", "क्षेत्रीय"),
            ("Noto Sans Bengali", "বিক্রি"),
            ("Noto Sans Tamil", "விற்பனை"),
            ("Noto Sans Telugu", "అమ్మకాలు"),
        ] {
            let w = width(text, family, false, 10.0);
            assert!(w > 10.0 && w < 100.0, "{family}: {w}");
        }
        assert!(width("Revenue", LATIN, true, 10.0) > width("Revenue", LATIN, false, 10.0));
        let d = path("कि", "Noto Sans Devanagari", false, 12.0, 0.0, 20.0);
        assert!(d.starts_with('M') && d.ends_with('Z'), "{d}");
        assert!(path(" ", LATIN, false, 12.0, 0.0, 0.0).is_empty());
    }
}
