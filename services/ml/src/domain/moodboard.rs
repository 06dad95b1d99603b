//! Moodboards: the photo, its palette as swatches sized by their share,
//! and thumbnails of the listed products whose palettes are nearest
//! (colour distance over analysed products), composed into one PNG; with a
//! market-alignment score whose parts are shown.

use std::collections::BTreeMap;

use image::{Rgb, RgbImage, imageops};
use imaging::{Limits, PipelineError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::colour::{self, Lab};
use super::image::{Analysis, Swatch};

/// Analysed products compared, at most.
pub const MAX_CANDIDATES: usize = 2_000;
/// Similar products returned.
pub const SIMILAR: usize = 10;
/// Thumbnails drawn.
pub const THUMBNAILS: usize = 5;
/// Two colours within this ΔE (CIE76) count as the same colour.
pub const SAME_COLOUR: f64 = 15.0;

/// The canvas: photo on the left, swatches on the right, thumbnails below.
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 900;
const MARGIN: u32 = 20;
const PHOTO_W: u32 = 780;
const PHOTO_H: u32 = 600;
const THUMB: u32 = 216;

/// A product whose palette is near.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SimilarProduct {
    pub product_id: String,
    pub media_id: String,
    /// Share-weighted mean ΔE between the palettes (0 is identical).
    pub colour_distance: f64,
    pub palette: Vec<String>,
}

/// Share-weighted mean, both ways, of each colour's ΔE to the nearest
/// colour of the other palette.
pub fn palette_distance(a: &[Swatch], b: &[Swatch]) -> f64 {
    fn one_way(from: &[Swatch], to: &[Lab]) -> f64 {
        let total: f64 = from.iter().map(|s| s.share).sum();
        if total <= 0.0 || to.is_empty() {
            return f64::INFINITY;
        }
        from.iter()
            .map(|s| {
                let lab = colour::lab(s.rgb);
                let nearest = to
                    .iter()
                    .map(|t| f64::from(lab.delta_e(*t)))
                    .fold(f64::INFINITY, f64::min);
                s.share * nearest
            })
            .sum::<f64>()
            / total
    }
    let la: Vec<Lab> = a.iter().map(|s| colour::lab(s.rgb)).collect();
    let lb: Vec<Lab> = b.iter().map(|s| colour::lab(s.rgb)).collect();
    (one_way(a, &lb) + one_way(b, &la)) / 2.0
}

/// The [`SIMILAR`] nearest of `candidates` (product id, media id, analysis).
pub fn nearest(
    palette: &[Swatch],
    candidates: &[(String, String, Analysis)],
) -> Vec<SimilarProduct> {
    let mut ranked: Vec<SimilarProduct> = candidates
        .iter()
        .map(|(product_id, media_id, a)| SimilarProduct {
            product_id: product_id.clone(),
            media_id: media_id.clone(),
            colour_distance: (palette_distance(palette, &a.palette) * 100.0).round() / 100.0,
            palette: a.palette.iter().map(|s| s.hex.clone()).collect(),
        })
        .filter(|s| s.colour_distance.is_finite())
        .collect();
    ranked.sort_by(|x, y| {
        x.colour_distance
            .total_cmp(&y.colour_distance)
            .then_with(|| x.product_id.cmp(&y.product_id))
    });
    ranked.truncate(SIMILAR);
    ranked
}

/// One part of the market-alignment score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlignmentPart {
    pub name: String,
    /// The measured fraction, 0–1.
    pub measured: f64,
    /// `measured` against the level counted as fully aligned, at most 1.
    pub score: f64,
    pub weight: f64,
    pub explanation: String,
}

/// How the photo sits among the analysed listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alignment {
    /// 0–1, the weighted parts; `null` with nothing to compare.
    pub score: Option<f64>,
    pub listings_compared: usize,
    pub parts: Vec<AlignmentPart>,
}

/// A fraction at or above which a part counts as fully aligned.
const FULL_COLOUR: f64 = 0.2;
const FULL_STYLE: f64 = 0.3;

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Colour popularity (weight 0.6): the share-weighted fraction of listings
/// with a colour within [`SAME_COLOUR`] of each of the photo's; style
/// prevalence (weight 0.4): the mean fraction of listings sharing each of
/// its style tags.
pub fn alignment(analysis: &Analysis, candidates: &[(String, String, Analysis)]) -> Alignment {
    let n = candidates.len();
    if n == 0 {
        return Alignment {
            score: None,
            listings_compared: 0,
            parts: Vec::new(),
        };
    }
    let total: f64 = analysis
        .palette
        .iter()
        .map(|s| s.share)
        .sum::<f64>()
        .max(1e-9);
    let colour = analysis
        .palette
        .iter()
        .map(|s| {
            let lab = colour::lab(s.rgb);
            let with = candidates
                .iter()
                .filter(|(_, _, a)| {
                    a.palette
                        .iter()
                        .any(|t| f64::from(lab.delta_e(colour::lab(t.rgb))) <= SAME_COLOUR)
                })
                .count();
            s.share * with as f64 / n as f64
        })
        .sum::<f64>()
        / total;
    let mut tag_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, a) in candidates {
        for t in &a.style_tags {
            *tag_counts.entry(t.as_str()).or_default() += 1;
        }
    }
    let style = if analysis.style_tags.is_empty() {
        0.0
    } else {
        analysis
            .style_tags
            .iter()
            .map(|t| tag_counts.get(t.as_str()).copied().unwrap_or(0) as f64 / n as f64)
            .sum::<f64>()
            / analysis.style_tags.len() as f64
    };
    let parts = vec![
        AlignmentPart {
            name: "colour_popularity".to_owned(),
            measured: round3(colour),
            score: round3((colour / FULL_COLOUR).min(1.0)),
            weight: 0.6,
            explanation: format!(
                "weighted by share, each of the photo's colours is within ΔE {SAME_COLOUR} of a colour in {:.0}% of {n} analysed listings ({:.0}% or more counts as fully aligned)",
                colour * 100.0,
                FULL_COLOUR * 100.0
            ),
        },
        AlignmentPart {
            name: "style_prevalence".to_owned(),
            measured: round3(style),
            score: round3((style / FULL_STYLE).min(1.0)),
            weight: 0.4,
            explanation: format!(
                "the photo's style tags ({}) are each shared by {:.0}% of {n} analysed listings on average ({:.0}% or more counts as fully aligned)",
                analysis.style_tags.join(", "),
                style * 100.0,
                FULL_STYLE * 100.0
            ),
        },
    ];
    let score = parts.iter().map(|p| p.score * p.weight).sum::<f64>();
    Alignment {
        score: Some(round3(score)),
        listings_compared: n,
        parts,
    }
}

/// `bytes` decoded upright, fitted within `w` × `h`.
fn fitted(bytes: &[u8], limits: &Limits, w: u32, h: u32) -> Result<RgbImage, PipelineError> {
    let source = imaging::open(bytes, limits)?;
    let orientation = source.probe().orientation;
    let pixels = source.decode(w.max(h))?.orient(orientation);
    let rgb = pixels.rgb_on_white().into_owned();
    let img = RgbImage::from_raw(pixels.width, pixels.height, rgb)
        .ok_or_else(|| PipelineError::Corrupt("decoded size and pixels disagree".to_owned()))?;
    let scale = (f64::from(w) / f64::from(img.width())).min(f64::from(h) / f64::from(img.height()));
    let (nw, nh) = (
        ((f64::from(img.width()) * scale).round() as u32).max(1),
        ((f64::from(img.height()) * scale).round() as u32).max(1),
    );
    Ok(imageops::resize(
        &img,
        nw,
        nh,
        imageops::FilterType::Triangle,
    ))
}

fn fill(canvas: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, rgb: [u8; 3]) {
    for yy in y..(y + h).min(canvas.height()) {
        for xx in x..(x + w).min(canvas.width()) {
            canvas.put_pixel(xx, yy, Rgb(rgb));
        }
    }
}

/// The moodboard as PNG bytes: `photo` fitted on the left, `palette` as
/// stacked swatches (height by share) on the right, and below, each
/// similar product's thumbnail — or, where it could not be had, its
/// palette as a strip.
pub fn render(
    photo: &[u8],
    limits: &Limits,
    palette: &[Swatch],
    similar: &[(Option<bytes::Bytes>, Vec<[u8; 3]>)],
) -> Result<Vec<u8>, PipelineError> {
    let mut canvas = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb([250, 248, 244]));
    let img = fitted(photo, limits, PHOTO_W, PHOTO_H)?;
    let (px, py) = (
        MARGIN + (PHOTO_W - img.width()) / 2,
        MARGIN + (PHOTO_H - img.height()) / 2,
    );
    imageops::overlay(&mut canvas, &img, i64::from(px), i64::from(py));
    let sx = MARGIN * 2 + PHOTO_W;
    let sw = WIDTH - sx - MARGIN;
    let total: f64 = palette.iter().map(|s| s.share).sum::<f64>().max(1e-9);
    let mut y = MARGIN;
    for (i, s) in palette.iter().enumerate() {
        let h = if i + 1 == palette.len() {
            (MARGIN + PHOTO_H).saturating_sub(y)
        } else {
            (s.share / total * f64::from(PHOTO_H)).round() as u32
        };
        fill(&mut canvas, sx, y, sw, h, s.rgb);
        y += h;
    }
    let ty = MARGIN * 2 + PHOTO_H;
    let gap = (WIDTH - MARGIN * 2 - THUMB * THUMBNAILS as u32) / (THUMBNAILS as u32 - 1);
    for (i, (thumb, colours)) in similar.iter().take(THUMBNAILS).enumerate() {
        let tx = MARGIN + i as u32 * (THUMB + gap);
        let drawn = thumb
            .as_ref()
            .and_then(|bytes| fitted(bytes, limits, THUMB, THUMB).ok());
        match drawn {
            Some(t) => {
                let (ox, oy) = (tx + (THUMB - t.width()) / 2, ty + (THUMB - t.height()) / 2);
                imageops::overlay(&mut canvas, &t, i64::from(ox), i64::from(oy));
            }
            None if !colours.is_empty() => {
                let band = THUMB / colours.len() as u32;
                for (j, c) in colours.iter().enumerate() {
                    fill(&mut canvas, tx, ty + j as u32 * band, THUMB, band, *c);
                }
            }
            None => {}
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    canvas
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| PipelineError::Corrupt(format!("encoding the moodboard: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::image::analyse_bytes;

    fn swatch(rgb: [u8; 3], share: f64) -> Swatch {
        Swatch {
            hex: colour::hex(rgb),
            rgb,
            share,
            name: String::new(),
        }
    }

    fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        RgbImage::from_pixel(w, h, Rgb(rgb))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{e}"));
        out.into_inner()
    }

    #[test]
    fn identical_palettes_are_at_zero_and_nearer_colours_rank_first() {
        let terracotta = vec![swatch([204, 78, 54], 0.7), swatch([20, 30, 80], 0.3)];
        assert!(palette_distance(&terracotta, &terracotta) < 1e-6);
        let analysis = |rgb| {
            analyse_bytes(&png(64, 64, rgb), &Limits::default(), None)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let candidates = vec![
            ("far".to_owned(), "m1".to_owned(), analysis([40, 200, 90])),
            ("near".to_owned(), "m2".to_owned(), analysis([200, 80, 56])),
        ];
        let ranked = nearest(&terracotta, &candidates);
        assert_eq!(ranked[0].product_id, "near");
        assert!(ranked[0].colour_distance < ranked[1].colour_distance);
    }

    #[test]
    fn alignment_counts_listings_sharing_the_colours() {
        let a = analyse_bytes(&png(64, 64, [204, 78, 54]), &Limits::default(), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let same = ("p".to_owned(), "m".to_owned(), a.clone());
        let other = analyse_bytes(&png(64, 64, [40, 200, 90]), &Limits::default(), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let other = ("q".to_owned(), "n".to_owned(), other);
        let half = alignment(&a, &[same.clone(), other]);
        assert_eq!(half.parts[0].measured, 0.5);
        assert_eq!(half.parts[0].score, 1.0);
        assert_eq!(half.listings_compared, 2);
        assert_eq!(alignment(&a, &[]).score, None);
    }

    #[test]
    fn the_moodboard_is_a_png_with_the_photo_and_its_swatches() {
        let photo = png(400, 300, [204, 78, 54]);
        let palette = vec![swatch([204, 78, 54], 0.6), swatch([20, 30, 80], 0.4)];
        let similar = vec![
            (Some(bytes::Bytes::from(png(100, 100, [0, 120, 0]))), vec![]),
            (None, vec![[255, 255, 0]]),
        ];
        let bytes = render(&photo, &Limits::default(), &palette, &similar)
            .unwrap_or_else(|e| panic!("{e}"));
        let board = image::load_from_memory(&bytes)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_rgb8();
        assert_eq!(board.dimensions(), (WIDTH, HEIGHT));
        // The photo's centre, the first swatch, the second, a thumbnail,
        // and the palette strip of the product without one.
        assert_eq!(
            board
                .get_pixel(MARGIN + PHOTO_W / 2, MARGIN + PHOTO_H / 2)
                .0,
            [204, 78, 54]
        );
        assert_eq!(board.get_pixel(WIDTH - 40, MARGIN + 10).0, [204, 78, 54]);
        assert_eq!(
            board.get_pixel(WIDTH - 40, MARGIN + PHOTO_H - 10).0,
            [20, 30, 80]
        );
        assert_eq!(
            board
                .get_pixel(MARGIN + THUMB / 2, 2 * MARGIN + PHOTO_H + THUMB / 2)
                .0,
            [0, 120, 0]
        );
        let second = MARGIN
            + THUMB
            + (WIDTH - 2 * MARGIN - THUMB * THUMBNAILS as u32) / (THUMBNAILS as u32 - 1);
        assert_eq!(
            board.get_pixel(second + 10, 2 * MARGIN + PHOTO_H + 10).0,
            [255, 255, 0]
        );
    }
}
