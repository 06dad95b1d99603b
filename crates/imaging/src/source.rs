//! An upload opened for decoding: format sniffed, header read and size
//! checked against the limits before any pixel buffer exists, EXIF
//! orientation read; then one decode, JPEG at the smallest DCT scale that
//! still covers the largest variant.

use std::io::Cursor;

use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{DynamicImage, ImageDecoder, ImageError};
use jpeg_decoder::PixelFormat;

use crate::pixels::{self, Pixels};
use crate::{Format, Limits, PipelineError, Probe, sniff};

/// Room for a decoder's own buffers (zlib window, rows) on top of the
/// decoded image.
const DECODER_OVERHEAD: u64 = 64 * 1024 * 1024;

/// A header-checked upload, ready to decode.
pub struct Source<'a> {
    /// Width and height as stored, before orientation.
    width: u32,
    height: u32,
    orientation: u16,
    limits: Limits,
    decoder: Decoder<'a>,
}

enum Decoder<'a> {
    Jpeg(jpeg_decoder::Decoder<&'a [u8]>),
    Png(Box<PngDecoder<Cursor<&'a [u8]>>>),
    Webp(WebPDecoder<Cursor<&'a [u8]>>),
}

/// Sniff `bytes`, read its header and check it against `limits`.
pub fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Source<'a>, PipelineError> {
    if bytes.len() > limits.max_bytes {
        return Err(PipelineError::FileTooLarge {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes).ok_or(PipelineError::Unsupported)?;
    let (width, height, orientation, decoder) = match format {
        Format::Jpeg => {
            let mut decoder = jpeg_decoder::Decoder::new(bytes);
            decoder.read_info().map_err(jpeg_error)?;
            let info = decoder
                .info()
                .ok_or_else(|| PipelineError::Corrupt("no JPEG frame header".to_owned()))?;
            let (width, height) = (u32::from(info.width), u32::from(info.height));
            check(width, height, limits)?;
            let orientation = decoder.exif_data().map_or(1, orientation_of);
            (width, height, orientation, Decoder::Jpeg(decoder))
        }
        Format::Png => {
            // IHDR is the first chunk, at a fixed place: check it before
            // the decoder reads on.
            let (width, height) = png_size(bytes)?;
            check(width, height, limits)?;
            let mut decoder =
                PngDecoder::with_limits(Cursor::new(bytes), image_limits(width, height, limits))
                    .map_err(|e| image_error(e, width, height))?;
            let orientation = exif_orientation(&mut decoder);
            (width, height, orientation, Decoder::Png(Box::new(decoder)))
        }
        Format::Webp => {
            let mut decoder =
                WebPDecoder::new(Cursor::new(bytes)).map_err(|e| image_error(e, 0, 0))?;
            let (width, height) = decoder.dimensions();
            check(width, height, limits)?;
            let orientation = exif_orientation(&mut decoder);
            (width, height, orientation, Decoder::Webp(decoder))
        }
    };
    Ok(Source {
        width,
        height,
        orientation,
        limits: *limits,
        decoder,
    })
}

impl Source<'_> {
    /// The header's facts, sizes as displayed.
    pub fn probe(&self) -> Probe {
        let swap = self.orientation >= 5;
        Probe {
            format: match self.decoder {
                Decoder::Jpeg(_) => Format::Jpeg,
                Decoder::Png(_) => Format::Png,
                Decoder::Webp(_) => Format::Webp,
            },
            width: if swap { self.height } else { self.width },
            height: if swap { self.width } else { self.height },
            orientation: self.orientation,
        }
    }

    /// Decode the pixels as stored (not yet oriented). A JPEG is decoded
    /// at the smallest DCT scale whose longest side is still at least
    /// `needed` (or the full size).
    pub fn decode(self, needed: u32) -> Result<Pixels, PipelineError> {
        let (width, height) = (self.width, self.height);
        match self.decoder {
            Decoder::Jpeg(mut decoder) => {
                let eighths = dct_scale(width.max(height), needed);
                let (w, h) = (scaled(width, eighths), scaled(height, eighths));
                // Sides ≤ the stored ones, which are u16.
                let (w, h) = decoder.scale(w as u16, h as u16).map_err(jpeg_error)?;
                let (w, h) = (u32::from(w), u32::from(h));
                let most = u64::from(w) * u64::from(h) * 4;
                decoder.set_max_decoding_buffer_size(usize::try_from(most).unwrap_or(usize::MAX));
                let data = decoder.decode().map_err(jpeg_error)?;
                let format = decoder
                    .info()
                    .ok_or_else(|| PipelineError::Corrupt("no JPEG frame header".to_owned()))?
                    .pixel_format;
                let data = match format {
                    PixelFormat::RGB24 => data,
                    PixelFormat::L8 => pixels::gray_to_rgb(&data),
                    PixelFormat::CMYK32 => pixels::cmyk_to_rgb(&data),
                    // 16-bit lossless JPEG: not a web format.
                    PixelFormat::L16 => return Err(PipelineError::Unsupported),
                };
                if data.len() as u64 != u64::from(w) * u64::from(h) * 3 {
                    return Err(PipelineError::Corrupt(
                        "JPEG decoded to a wrong size".to_owned(),
                    ));
                }
                Ok(Pixels {
                    width: w,
                    height: h,
                    channels: 3,
                    data,
                })
            }
            Decoder::Png(decoder) => decode_image(*decoder, width, height, &self.limits),
            Decoder::Webp(decoder) => decode_image(decoder, width, height, &self.limits),
        }
    }
}

/// Decode a PNG or WebP with the `image` crate under memory limits.
fn decode_image(
    mut decoder: impl ImageDecoder,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<Pixels, PipelineError> {
    decoder
        .set_limits(image_limits(width, height, limits))
        .map_err(|e| image_error(e, width, height))?;
    let alpha = decoder.color_type().has_alpha();
    let image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(e, width, height))?;
    let (w, h) = (image.width(), image.height());
    Ok(if alpha {
        Pixels::from_rgba(w, h, image.into_rgba8().into_raw())
    } else {
        Pixels {
            width: w,
            height: h,
            channels: 3,
            data: image.into_rgb8().into_raw(),
        }
    })
}

/// Numerator `n` of the JPEG DCT scale `n/8`: the smallest whose longest
/// side is still at least `needed`.
pub fn dct_scale(long: u32, needed: u32) -> u32 {
    [1, 2, 4]
        .into_iter()
        .find(|&n| scaled(long, n) >= needed.min(long))
        .unwrap_or(8)
}

/// A side at DCT scale `eighths`/8, rounded up as jpeg-decoder does.
fn scaled(side: u32, eighths: u32) -> u32 {
    (side * eighths).div_ceil(8)
}

/// Refuse empty images and any over the limits.
fn check(width: u32, height: u32, limits: &Limits) -> Result<(), PipelineError> {
    if width == 0 || height == 0 {
        return Err(PipelineError::Corrupt(format!(
            "empty image {width}×{height}"
        )));
    }
    if width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(PipelineError::TooLarge { width, height });
    }
    Ok(())
}

/// Width and height from a PNG's IHDR chunk, which must come first.
fn png_size(bytes: &[u8]) -> Result<(u32, u32), PipelineError> {
    let ihdr = bytes
        .get(8..24)
        .filter(|h| h[..8] == *b"\0\0\0\x0dIHDR")
        .ok_or_else(|| PipelineError::Corrupt("PNG without an IHDR chunk first".to_owned()))?;
    let be = |at: usize| u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]]);
    Ok((be(8), be(12)))
}

/// The `image` crate's limits for a header-checked `width`×`height`
/// image: that size, and allocations up to its 16-bit RGBA buffer plus
/// the decoder's overhead, so a lying file cannot exhaust memory.
fn image_limits(width: u32, height: u32, limits: &Limits) -> image::Limits {
    let mut out = image::Limits::default();
    out.max_image_width = Some(limits.max_side);
    out.max_image_height = Some(limits.max_side);
    out.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + DECODER_OVERHEAD);
    out
}

/// The EXIF orientation of a PNG (`eXIf`) or WebP (`EXIF`), 1 if none.
fn exif_orientation(decoder: &mut impl ImageDecoder) -> u16 {
    match decoder.exif_metadata() {
        Ok(Some(exif)) => orientation_of(&exif),
        _ => 1,
    }
}

/// The orientation tag of raw EXIF (a TIFF structure, possibly behind an
/// `Exif\0\0` header), 1 if absent or invalid.
pub fn orientation_of(exif: &[u8]) -> u16 {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    exif::Reader::new()
        .read_raw(tiff.to_vec())
        .ok()
        .and_then(|exif| {
            exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?
                .value
                .get_uint(0)
        })
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1)
}

/// Truncated, invalid or exotic (arithmetic-coded, hierarchical) JPEG.
fn jpeg_error(e: jpeg_decoder::Error) -> PipelineError {
    PipelineError::Corrupt(e.to_string())
}

fn image_error(e: ImageError, width: u32, height: u32) -> PipelineError {
    match e {
        ImageError::Limits(_) => PipelineError::TooLarge { width, height },
        other => PipelineError::Corrupt(other.to_string()),
    }
}
