//! Fixtures made in code: synthetic photos, JPEG/PNG encoders, a
//! hand-built EXIF (TIFF) segment, a hand-crafted PNG header, and
//! comparison helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::{DynamicImage, ImageEncoder, ImageFormat};

use crate::domain::pipeline::{Format, VariantSpec, sniff};

/// A photo-like RGB image: gradients, waves and some grain.
pub(super) fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let grain =
                (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)).wrapping_mul(2_654_435_761) >> 28;
            let grain = grain as f32 - 8.0;
            let r = 128.0 + 100.0 * (fx * 6.0).sin() * (fy * 4.0).cos() + grain;
            let g = 40.0 + 170.0 * fy + grain;
            let b = 128.0 + 90.0 * ((fx + fy) * 9.0).sin() - grain;
            out.extend([r as u8, g as u8, b as u8]);
        }
    }
    out
}

/// Baseline JPEG of RGB pixels.
pub(super) fn jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(
            rgb,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    out
}

pub(super) fn png(
    data: &[u8],
    width: u32,
    height: u32,
    color: image::ExtendedColorType,
) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(data, width, height, color)
        .unwrap();
    out
}

/// `jpeg` with an APP1 Exif segment holding `tiff` right after SOI.
pub(super) fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let len = u16::try_from(2 + 6 + tiff.len()).unwrap();
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend(len.to_be_bytes());
    out.extend(b"Exif\0\0");
    out.extend(tiff);
    out.extend(&jpeg[2..]);
    out
}

/// A big-endian TIFF with IFD0 = { Orientation }, plus a GPS IFD
/// (latitude N 48°51'30") behind a GPSInfo pointer if `gps`.
pub(super) fn tiff(orientation: u16, gps: bool) -> Vec<u8> {
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        let mut e = Vec::with_capacity(12);
        e.extend(tag.to_be_bytes());
        e.extend(kind.to_be_bytes());
        e.extend(count.to_be_bytes());
        e.extend(value);
        e
    };
    let entries: u16 = if gps { 2 } else { 1 };
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    t.extend(entries.to_be_bytes());
    let [o1, o2] = orientation.to_be_bytes();
    t.extend(entry(0x0112, 3, 1, [o1, o2, 0, 0]));
    if gps {
        let gps_ifd = 8 + 2 + 12 * u32::from(entries) + 4;
        t.extend(entry(0x8825, 4, 1, gps_ifd.to_be_bytes()));
    }
    t.extend(0u32.to_be_bytes());
    if gps {
        let rationals = t.len() as u32 + 2 + 2 * 12 + 4;
        t.extend(2u16.to_be_bytes());
        t.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
        t.extend(entry(0x0002, 5, 3, rationals.to_be_bytes()));
        t.extend(0u32.to_be_bytes());
        for (num, den) in [(48u32, 1u32), (51, 1), (30, 1)] {
            t.extend(num.to_be_bytes());
            t.extend(den.to_be_bytes());
        }
    }
    t
}

/// A valid-looking PNG whose IHDR declares 100000×100000 RGB.
pub(super) fn huge_png() -> Vec<u8> {
    testkit::images::png_declaring(100_000, 100_000)
}

pub(super) fn decode(bytes: &[u8]) -> DynamicImage {
    let format = match sniff(bytes).unwrap() {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::Webp => ImageFormat::WebP,
    };
    image::load_from_memory_with_format(bytes, format).unwrap()
}

pub(super) fn spec(name: &str, max_side: u32, quality: u8) -> VariantSpec {
    VariantSpec {
        name: name.to_owned(),
        max_side,
        formats: vec![Format::Webp, Format::Jpeg],
        quality,
    }
}

pub(super) fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

pub(super) fn near(pixel: [u8; 3], want: [u8; 3]) -> bool {
    pixel.iter().zip(want).all(|(&p, w)| p.abs_diff(w) < 60)
}
