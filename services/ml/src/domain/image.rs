//! A product photo measured: its palette by k-means in Lab, and its
//! quality — sharpness, exposure, clipping, contrast, resolution, noise,
//! aspect ratio, background uniformity — each shown with the part of the
//! score it earns, the tips that follow from the measurements, and style
//! tags read from the palette and composition. Synchronous and CPU-bound:
//! run it inside `spawn_blocking`.

use imaging::{Limits, PipelineError, Pixels};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::colour::{self, Lab};

/// The side the measurements are taken at: the image is decoded (JPEG at
/// its DCT scale) to at least this and resampled down to it, so that
/// sharpness and noise mean the same for any original size.
pub const ANALYSIS_SIDE: u32 = 1000;
/// About this many pixels are clustered for the palette.
pub const SAMPLE_PIXELS: usize = 50_000;
/// Colours in a palette (fewer when the image has fewer).
pub const PALETTE_SIZE: usize = 5;
/// The longest side marketplaces ask for.
pub const WANTED_SIDE: u32 = 1600;

/// One colour of the palette.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Swatch {
    /// `#rrggbb`.
    pub hex: String,
    pub rgb: [u8; 3],
    /// Share of the pixels, 0–1.
    pub share: f64,
    /// The nearest named colour.
    pub name: String,
}

/// One measured part of the quality score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Part {
    pub name: String,
    /// What was measured, in `unit`.
    pub measured: f64,
    pub unit: String,
    /// Its score, 0–1.
    pub score: f64,
    /// Its weight in the overall score.
    pub weight: f64,
}

/// The quality of a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Quality {
    /// The weighted mean of the parts, 0–1.
    pub score: f64,
    /// A (≥ 0.85), B (≥ 0.7), C (≥ 0.5) or D.
    pub grade: String,
    pub parts: Vec<Part>,
    /// Width and height of the original.
    pub width: u32,
    pub height: u32,
}

/// A photo's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Analysis {
    pub palette: Vec<Swatch>,
    pub quality: Quality,
    /// What to change, each from a measurement.
    pub suggestions: Vec<String>,
    pub style_tags: Vec<String>,
}

/// Decode `bytes` under `limits` and analyse it; `original` is the size of
/// the original when `bytes` are a smaller copy of it.
pub fn analyse_bytes(
    bytes: &[u8],
    limits: &Limits,
    original: Option<(u32, u32)>,
) -> Result<Analysis, PipelineError> {
    let source = imaging::open(bytes, limits)?;
    let probe = source.probe();
    let pixels = source.decode(ANALYSIS_SIDE)?.orient(probe.orientation);
    let (width, height) = original.unwrap_or((probe.width, probe.height));
    Ok(analyse(&pixels, width, height))
}

/// Analyse upright `pixels` of an original `width` × `height`.
pub fn analyse(pixels: &Pixels, width: u32, height: u32) -> Analysis {
    let table = colour::linear_table();
    // The palette from the pixels as decoded (resampling would blend edges
    // into colours the photo does not have); the measurements at one scale.
    let palette = palette(
        &pixels.rgb_on_white(),
        pixels.width as usize,
        pixels.height as usize,
        &table,
    );
    let (rgb, w, h) = at_analysis_size(pixels);
    let (w, h) = (w as usize, h as usize);
    let gray = Gray::from_rgb(&rgb, w, h, &table);
    let m = measure(&gray, &rgb, w, h, &table, width, height);
    let quality = m.quality(width, height);
    let suggestions = m.suggestions(width, height);
    let style_tags = style_tags(&palette, &m);
    Analysis {
        palette: palette
            .iter()
            .map(|(c, share)| {
                let rgb = colour::rgb(*c);
                Swatch {
                    hex: colour::hex(rgb),
                    rgb,
                    share: (share * 1_000.0).round() / 1_000.0,
                    name: colour::name(*c).to_owned(),
                }
            })
            .collect(),
        quality,
        suggestions,
        style_tags,
    }
}

/// RGB pixels with the longest side at most [`ANALYSIS_SIDE`], resampled
/// (triangle filter) when larger, so that sharpness and noise are measured
/// at one scale whatever the source's size.
fn at_analysis_size(pixels: &Pixels) -> (Vec<u8>, u32, u32) {
    let rgb = pixels.rgb_on_white().into_owned();
    let (w, h) = (pixels.width, pixels.height);
    let long = w.max(h);
    if long <= ANALYSIS_SIDE {
        return (rgb, w, h);
    }
    let scale = f64::from(ANALYSIS_SIDE) / f64::from(long);
    let side = |s: u32| ((f64::from(s) * scale).round() as u32).clamp(1, ANALYSIS_SIDE);
    let (nw, nh) = (side(w), side(h));
    match ::image::RgbImage::from_raw(w, h, rgb) {
        Some(img) => {
            let small =
                ::image::imageops::resize(&img, nw, nh, ::image::imageops::FilterType::Triangle);
            (small.into_raw(), nw, nh)
        }
        // A buffer that is not w × h × 3 cannot come from the decoder.
        None => (pixels.rgb_on_white().into_owned(), w, h),
    }
}

/// The palette: k-means (k-means++ seeding, deterministic) over a grid
/// sample of about [`SAMPLE_PIXELS`] pixels in Lab; colours and shares,
/// largest share first.
fn palette(rgb: &[u8], w: usize, h: usize, table: &[f32; 256]) -> Vec<(Lab, f64)> {
    let step = ((w * h) as f64 / SAMPLE_PIXELS as f64).sqrt().max(1.0);
    let mut points = Vec::with_capacity(SAMPLE_PIXELS + w + h);
    let mut y = 0.0;
    while (y as usize) < h {
        let mut x = 0.0;
        while (x as usize) < w {
            let i = ((y as usize) * w + x as usize) * 3;
            points.push(colour::lab_from_linear(
                table[usize::from(rgb[i])],
                table[usize::from(rgb[i + 1])],
                table[usize::from(rgb[i + 2])],
            ));
            x += step;
        }
        y += step;
    }
    if points.is_empty() {
        return Vec::new();
    }
    // k-means++: each next centre drawn in proportion to the squared
    // distance from the nearest chosen; none left when every point is at
    // a centre (an image of fewer colours gets fewer).
    // The deterministic stream k-means++ draws from.
    let mut draw = common::mix::Stream(0x00C0_FFEE);
    let mut centres = vec![points[points.len() / 2]];
    let mut d2: Vec<f32> = points.iter().map(|p| p.distance2(centres[0])).collect();
    while centres.len() < PALETTE_SIZE {
        let total: f64 = d2.iter().map(|d| f64::from(*d)).sum();
        if total < 1e-6 {
            break;
        }
        let mut target = draw.next_unit() * total;
        let mut chosen = points.len() - 1;
        for (i, d) in d2.iter().enumerate() {
            target -= f64::from(*d);
            if target <= 0.0 && *d > 0.0 {
                chosen = i;
                break;
            }
        }
        let c = points[chosen];
        centres.push(c);
        for (d, p) in d2.iter_mut().zip(&points) {
            *d = d.min(p.distance2(c));
        }
    }
    let mut assign = vec![0usize; points.len()];
    for _ in 0..25 {
        let mut sums = vec![(0.0f64, 0.0f64, 0.0f64, 0usize); centres.len()];
        for (a, p) in assign.iter_mut().zip(&points) {
            *a = nearest(&centres, *p);
            let s = &mut sums[*a];
            s.0 += f64::from(p.l);
            s.1 += f64::from(p.a);
            s.2 += f64::from(p.b);
            s.3 += 1;
        }
        let mut moved = 0.0f32;
        for (c, s) in centres.iter_mut().zip(&sums) {
            if s.3 > 0 {
                let n = s.3 as f64;
                let next = Lab {
                    l: (s.0 / n) as f32,
                    a: (s.1 / n) as f32,
                    b: (s.2 / n) as f32,
                };
                moved = moved.max(next.delta_e(*c));
                *c = next;
            }
        }
        if moved < 0.5 {
            break;
        }
    }
    let mut counts = vec![0usize; centres.len()];
    for p in &points {
        counts[nearest(&centres, *p)] += 1;
    }
    let mut out: Vec<(Lab, f64)> = centres
        .into_iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| (c, n as f64 / points.len() as f64))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn nearest(centres: &[Lab], p: Lab) -> usize {
    centres
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.distance2(p)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(i, _)| i)
}

/// Luminance in linear light (0–1), averaged down to at most
/// [`ANALYSIS_SIDE`] on the longest side.
struct Gray {
    w: usize,
    h: usize,
    /// Linear luminance.
    y: Vec<f32>,
}

impl Gray {
    fn from_rgb(rgb: &[u8], w: usize, h: usize, table: &[f32; 256]) -> Gray {
        let factor = w.max(h).div_ceil(ANALYSIS_SIDE as usize).max(1);
        let (gw, gh) = ((w / factor).max(1), (h / factor).max(1));
        let mut y = vec![0.0f32; gw * gh];
        let norm = 1.0 / (factor * factor) as f32;
        for (gy, row) in y.chunks_exact_mut(gw).enumerate() {
            for (gx, out) in row.iter_mut().enumerate() {
                let mut sum = 0.0;
                for dy in 0..factor {
                    let line = ((gy * factor + dy).min(h - 1)) * w;
                    for dx in 0..factor {
                        let i = (line + (gx * factor + dx).min(w - 1)) * 3;
                        sum += 0.212_672_9 * table[usize::from(rgb[i])]
                            + 0.715_152_2 * table[usize::from(rgb[i + 1])]
                            + 0.072_175 * table[usize::from(rgb[i + 2])];
                    }
                }
                *out = sum * norm;
            }
        }
        Gray { w: gw, h: gh, y }
    }

    /// Luminance encoded as sRGB (0–255, where sharpness and noise
    /// thresholds are usually stated) and as L* (0–100), by table.
    fn encoded_and_lightness(&self) -> (Vec<f32>, Vec<f32>) {
        let t = luminance_tables();
        let at = |v: f32| (v.clamp(0.0, 1.0) * (LUMINANCE_STEPS - 1) as f32).round() as usize;
        let encoded = self.y.iter().map(|v| t.encoded[at(*v)]).collect();
        let lightness = self.y.iter().map(|v| t.lightness[at(*v)]).collect();
        (encoded, lightness)
    }
}

/// Steps of the luminance tables (linear luminance 0–1): fine enough that
/// a step is below a tenth of one encoded level in the mid-tones.
const LUMINANCE_STEPS: usize = 8_192;

struct LuminanceTables {
    encoded: Vec<f32>,
    lightness: Vec<f32>,
}

fn luminance_tables() -> &'static LuminanceTables {
    static TABLES: std::sync::OnceLock<LuminanceTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let y = |i: usize| i as f32 / (LUMINANCE_STEPS - 1) as f32;
        LuminanceTables {
            encoded: (0..LUMINANCE_STEPS)
                .map(|i| {
                    let v = y(i);
                    255.0
                        * if v <= 0.003_130_8 {
                            v * 12.92
                        } else {
                            1.055 * v.powf(1.0 / 2.4) - 0.055
                        }
                })
                .collect(),
            lightness: (0..LUMINANCE_STEPS)
                .map(|i| colour::lab_from_linear(y(i), y(i), y(i)).l)
                .collect(),
        }
    })
}

/// What was measured.
struct Measures {
    /// Variance of the 4-neighbour Laplacian of encoded luminance.
    sharpness: f64,
    /// log2(mean linear luminance / 0.18): stops from mid-grey.
    stops: f64,
    /// Share of pixels at 0–2 or 253–255 (encoded).
    shadows: f64,
    highlights: f64,
    /// Standard deviation of L*, 0–100.
    contrast: f64,
    /// Immerkær's noise estimate (σ, encoded luminance 0–255).
    noise: f64,
    /// Mean ΔE of the border band from its mean colour.
    border_spread: f64,
}

fn measure(
    gray: &Gray,
    rgb: &[u8],
    w: usize,
    h: usize,
    table: &[f32; 256],
    _width: u32,
    _height: u32,
) -> Measures {
    let (e, lightness) = gray.encoded_and_lightness();
    let (gw, gh) = (gray.w, gray.h);
    let (mut lap_sum, mut lap_sq, mut noise_sum, mut inner) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    for y in 1..gh.saturating_sub(1) {
        for x in 1..gw.saturating_sub(1) {
            let at = |dx: isize, dy: isize| {
                f64::from(e[(y as isize + dy) as usize * gw + (x as isize + dx) as usize])
            };
            let lap = at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1) - 4.0 * at(0, 0);
            lap_sum += lap;
            lap_sq += lap * lap;
            // Immerkær's mask: the Laplacian of two Laplacians' difference.
            let n = at(-1, -1) - 2.0 * at(0, -1) + at(1, -1) - 2.0 * at(-1, 0) + 4.0 * at(0, 0)
                - 2.0 * at(1, 0)
                + at(-1, 1)
                - 2.0 * at(0, 1)
                + at(1, 1);
            noise_sum += n.abs();
            inner += 1;
        }
    }
    let n = inner.max(1) as f64;
    let sharpness = lap_sq / n - (lap_sum / n).powi(2);
    let noise = (std::f64::consts::PI / 2.0).sqrt() * noise_sum / (6.0 * n);

    let mean_y = gray.y.iter().map(|v| f64::from(*v)).sum::<f64>() / gray.y.len().max(1) as f64;
    let stops = (mean_y.max(1e-4) / 0.18).log2();
    let total = e.len().max(1) as f64;
    let shadows = e.iter().filter(|v| **v <= 2.5).count() as f64 / total;
    let highlights = e.iter().filter(|v| **v >= 252.5).count() as f64 / total;
    let l: Vec<f64> = lightness.into_iter().map(f64::from).collect();
    let mean_l = l.iter().sum::<f64>() / l.len().max(1) as f64;
    let contrast =
        (l.iter().map(|v| (v - mean_l).powi(2)).sum::<f64>() / l.len().max(1) as f64).sqrt();

    // The border band: the outer 8% of each side, sampled.
    let band = ((w.min(h) as f64) * 0.08).ceil().max(1.0) as usize;
    let step = (w.max(h) / 256).max(1);
    let mut border = Vec::new();
    for y in (0..h).step_by(step) {
        for x in (0..w).step_by(step) {
            if x < band || y < band || x >= w - band || y >= h - band {
                let i = (y * w + x) * 3;
                border.push(colour::lab_from_linear(
                    table[usize::from(rgb[i])],
                    table[usize::from(rgb[i + 1])],
                    table[usize::from(rgb[i + 2])],
                ));
            }
        }
    }
    let k = border.len().max(1) as f32;
    let mean = Lab {
        l: border.iter().map(|c| c.l).sum::<f32>() / k,
        a: border.iter().map(|c| c.a).sum::<f32>() / k,
        b: border.iter().map(|c| c.b).sum::<f32>() / k,
    };
    let border_spread = f64::from(border.iter().map(|c| c.delta_e(mean)).sum::<f32>() / k);
    Measures {
        sharpness,
        stops,
        shadows,
        highlights,
        contrast,
        noise,
        border_spread,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

impl Measures {
    /// Background uniformity, 0–1: 1 for a flat border, ½ at a mean ΔE of
    /// 10 from its own mean.
    fn uniformity(&self) -> f64 {
        1.0 / (1.0 + self.border_spread / 10.0)
    }

    fn quality(&self, width: u32, height: u32) -> Quality {
        let long = width.max(height);
        let aspect = f64::from(width.max(height)) / f64::from(width.min(height).max(1));
        let part = |name: &str, measured: f64, unit: &str, score: f64, weight: f64| Part {
            name: name.to_owned(),
            measured: round3(measured),
            unit: unit.to_owned(),
            score: round3(score.clamp(0.0, 1.0)),
            weight,
        };
        let parts = vec![
            // Variance of the Laplacian: below ~100 reads as blurred.
            part(
                "sharpness",
                self.sharpness,
                "laplacian variance",
                self.sharpness / 300.0,
                0.25,
            ),
            part(
                "exposure",
                self.stops,
                "stops from mid-grey",
                1.0 - self.stops.abs() / 2.0,
                0.2,
            ),
            part(
                "resolution",
                f64::from(long),
                "px, longest side",
                f64::from(long) / f64::from(WANTED_SIDE),
                0.15,
            ),
            part(
                "contrast",
                self.contrast,
                "L* standard deviation",
                self.contrast / 20.0,
                0.1,
            ),
            part(
                "noise",
                self.noise,
                "sigma (0-255)",
                1.0 - self.noise / 10.0,
                0.1,
            ),
            part(
                "clipping",
                self.shadows + self.highlights,
                "share of pixels",
                1.0 - (self.shadows + self.highlights.max(0.0) - 0.05).max(0.0) * 4.0,
                0.1,
            ),
            part(
                "background",
                self.uniformity(),
                "uniformity",
                self.uniformity(),
                0.1,
            ),
            part(
                "aspect_ratio",
                aspect,
                "long / short",
                if aspect <= 2.0 { 1.0 } else { 2.0 / aspect },
                0.0,
            ),
        ];
        let total: f64 = parts.iter().map(|p| p.weight).sum();
        let score = round3(parts.iter().map(|p| p.score * p.weight).sum::<f64>() / total);
        let grade = match score {
            s if s >= 0.85 => "A",
            s if s >= 0.7 => "B",
            s if s >= 0.5 => "C",
            _ => "D",
        };
        Quality {
            score,
            grade: grade.to_owned(),
            parts,
            width,
            height,
        }
    }

    fn suggestions(&self, width: u32, height: u32) -> Vec<String> {
        let mut out = Vec::new();
        let long = width.max(height);
        if self.sharpness < 100.0 {
            out.push(format!(
                "The photo looks soft (Laplacian variance {:.0}; sharp photos measure above 100): \
                 steady the camera or focus on the piece.",
                self.sharpness
            ));
        }
        if self.stops <= -0.6 {
            out.push(format!(
                "Under-exposed by about {}: add light or raise the exposure.",
                stops_text(-self.stops)
            ));
        } else if self.stops >= 0.9 {
            out.push(format!(
                "Over-exposed by about {}: lower the exposure or diffuse the light.",
                stops_text(self.stops)
            ));
        }
        if self.highlights > 0.15 && self.uniformity() < 0.8 {
            out.push(format!(
                "{:.0}% of the pixels are blown-out white: details in the bright parts are lost.",
                self.highlights * 100.0
            ));
        }
        if self.shadows > 0.15 {
            out.push(format!(
                "{:.0}% of the pixels are crushed black: lift the shadows.",
                self.shadows * 100.0
            ));
        }
        if long < WANTED_SIDE {
            out.push(format!(
                "Longest side {long} px; marketplaces want at least {WANTED_SIDE}."
            ));
        }
        if self.contrast < 8.0 {
            out.push(format!(
                "Flat contrast (L* spread {:.1}): light the piece from one side to show its texture.",
                self.contrast
            ));
        }
        if self.noise > 6.0 {
            out.push(format!(
                "Grainy (noise σ {:.1}): use more light rather than a higher ISO.",
                self.noise
            ));
        }
        if self.uniformity() < 0.5 {
            out.push(
                "Busy background: a plain cloth or wall behind the piece keeps the eye on it."
                    .to_owned(),
            );
        }
        let aspect = f64::from(long) / f64::from(width.min(height).max(1));
        if aspect > 2.0 {
            out.push(format!(
                "A {aspect:.1}:1 frame is cropped hard in listings: square or 4:5 shows best."
            ));
        }
        out
    }
}

fn stops_text(stops: f64) -> String {
    let halves = (stops * 2.0).round() / 2.0;
    if (halves - 1.0).abs() < f64::EPSILON {
        "one stop".to_owned()
    } else {
        format!("{halves} stops")
    }
}

/// Style tags from the palette (weighted by share) and the composition.
fn style_tags(palette: &[(Lab, f64)], m: &Measures) -> Vec<String> {
    let mut tags = Vec::new();
    let share = |pred: &dyn Fn(&Lab) -> bool| -> f64 {
        palette
            .iter()
            .filter(|(c, _)| pred(c))
            .map(|(_, s)| s)
            .sum()
    };
    let chromatic = |c: &Lab| c.chroma() >= 12.0;
    let warm = share(&|c| chromatic(c) && (c.hue() < 100.0 || c.hue() > 330.0));
    let cool = share(&|c| chromatic(c) && (150.0..300.0).contains(&c.hue()));
    let earthy = share(&|c| {
        (20.0..70.0).contains(&c.l) && (5.0..35.0).contains(&c.a) && (10.0..50.0).contains(&c.b)
    });
    let pastel = share(&|c| c.l >= 70.0 && (8.0..40.0).contains(&c.chroma()));
    let vivid = share(&|c| c.chroma() >= 50.0);
    if warm >= 0.4 {
        tags.push("warm");
    }
    if cool >= 0.4 {
        tags.push("cool");
    }
    if earthy >= 0.35 {
        tags.push("earthy");
    }
    if pastel >= 0.4 {
        tags.push("pastel");
    }
    if vivid >= 0.3 {
        tags.push("vibrant");
    }
    if palette.iter().all(|(c, _)| c.chroma() < 12.0) {
        tags.push("monochrome");
    }
    if m.contrast >= 28.0 {
        tags.push("high-contrast");
    }
    if m.uniformity() >= 0.8 {
        tags.push("clean-background");
    }
    tags.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Pixels {
        let mut data = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&f(x, y));
            }
        }
        Pixels {
            width: w,
            height: h,
            channels: 3,
            data,
        }
    }

    /// A textured piece (a fine pattern of two tones) on a plain backdrop.
    fn textured(x: u32, y: u32) -> [u8; 3] {
        let inside = (200..1400).contains(&x) && (200..1000).contains(&y);
        if !inside {
            return [235, 232, 225];
        }
        if (x / 3 + y / 3).is_multiple_of(2) {
            [180, 90, 60]
        } else {
            [90, 50, 35]
        }
    }

    fn blurred(p: &Pixels, radius: i64) -> Pixels {
        let (w, h) = (i64::from(p.width), i64::from(p.height));
        image(p.width, p.height, |x, y| {
            let mut sum = [0u32; 3];
            let mut n = 0;
            for dy in -radius..=radius {
                for dx in -radius..=radius {
                    let (sx, sy) = (
                        (i64::from(x) + dx).clamp(0, w - 1),
                        (i64::from(y) + dy).clamp(0, h - 1),
                    );
                    let i = ((sy * w + sx) * 3) as usize;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u32::from(p.data[i + c]);
                    }
                    n += 1;
                }
            }
            sum.map(|s| (s / n) as u8)
        })
    }

    #[test]
    fn a_two_colour_image_is_those_two_colours_with_their_shares() {
        let p = image(1000, 600, |x, _| {
            if x < 700 { [204, 78, 54] } else { [20, 30, 80] }
        });
        let a = analyse(&p, 1000, 600);
        assert_eq!(a.palette.len(), 2, "{:?}", a.palette);
        assert_eq!(
            (a.palette[0].hex.as_str(), a.palette[0].name.as_str()),
            ("#cc4e36", "terracotta")
        );
        assert_eq!(
            (a.palette[1].hex.as_str(), a.palette[1].name.as_str()),
            ("#141e50", "navy")
        );
        assert!((a.palette[0].share - 0.7).abs() < 0.01, "{:?}", a.palette);
        assert!((a.palette[1].share - 0.3).abs() < 0.01);
        assert!(
            a.style_tags.contains(&"warm".to_owned()),
            "{:?}",
            a.style_tags
        );
    }

    #[test]
    fn a_blurred_copy_scores_lower_sharpness() {
        let sharp = image(1600, 1200, textured);
        let soft = blurred(&sharp, 2);
        let part = |a: &Analysis| {
            a.quality
                .parts
                .iter()
                .find(|p| p.name == "sharpness")
                .unwrap()
                .measured
        };
        let (a, b) = (analyse(&sharp, 1600, 1200), analyse(&soft, 1600, 1200));
        assert!(part(&a) > 4.0 * part(&b), "{} vs {}", part(&a), part(&b));
        assert!(a.quality.score > b.quality.score);
        assert!(
            b.suggestions.iter().any(|s| s.contains("soft")),
            "{:?}",
            b.suggestions
        );
        assert!(
            a.style_tags.contains(&"clean-background".to_owned()),
            "{:?}",
            a.style_tags
        );
    }

    #[test]
    fn an_under_exposed_copy_gets_the_exposure_tip() {
        // Mid-grey (18% linear: sRGB 118) and a copy with half the light
        // (9%: sRGB 84).
        let mid = analyse(
            &image(1600, 1600, |x, y| {
                if (x + y).is_multiple_of(2) {
                    [108, 118, 128]
                } else {
                    [128, 118, 108]
                }
            }),
            1600,
            1600,
        );
        let dark = analyse(
            &image(1600, 1600, |x, y| {
                if (x + y).is_multiple_of(2) {
                    [76, 84, 92]
                } else {
                    [92, 84, 76]
                }
            }),
            1600,
            1600,
        );
        let stops = |a: &Analysis| {
            a.quality
                .parts
                .iter()
                .find(|p| p.name == "exposure")
                .unwrap()
                .measured
        };
        assert!(stops(&mid).abs() < 0.1, "{}", stops(&mid));
        assert!((stops(&dark) + 1.0).abs() < 0.1, "{}", stops(&dark));
        assert!(!mid.suggestions.iter().any(|s| s.contains("exposed")));
        assert!(
            dark.suggestions
                .iter()
                .any(|s| s.starts_with("Under-exposed by about one stop")),
            "{:?}",
            dark.suggestions
        );
    }

    #[test]
    fn a_small_photo_on_a_busy_background_is_told_so() {
        let p = image(640, 480, |x, y| {
            [
                (x * 7 % 256) as u8,
                (y * 13 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ]
        });
        let a = analyse(&p, 640, 480);
        assert!(
            a.suggestions
                .iter()
                .any(|s| s == "Longest side 640 px; marketplaces want at least 1600."),
            "{:?}",
            a.suggestions
        );
        assert!(
            a.suggestions
                .iter()
                .any(|s| s.starts_with("Busy background"))
        );
        let r = a
            .quality
            .parts
            .iter()
            .find(|p| p.name == "resolution")
            .unwrap();
        assert_eq!((r.measured, r.score), (640.0, 0.4));
    }
}
