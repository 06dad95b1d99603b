//! Decoded pixels (8-bit RGB or RGBA) and the few whole-image operations
//! the pipeline needs: EXIF orientation and flattening alpha onto white.

use std::borrow::Cow;

/// An 8-bit image, rows top to bottom, `channels` 3 (RGB) or 4 (RGBA,
/// not premultiplied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: usize,
    pub data: Vec<u8>,
}

impl Pixels {
    /// RGB pixels from an RGBA buffer whose alpha is all opaque, RGBA
    /// otherwise.
    pub fn from_rgba(width: u32, height: u32, data: Vec<u8>) -> Pixels {
        let opaque = data.chunks_exact(4).all(|p| p[3] == u8::MAX);
        if opaque {
            let data = data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            Pixels {
                width,
                height,
                channels: 3,
                data,
            }
        } else {
            Pixels {
                width,
                height,
                channels: 4,
                data,
            }
        }
    }

    /// The pixels as RGB, alpha composited onto white.
    pub fn rgb_on_white(&self) -> Cow<'_, [u8]> {
        if self.channels == 3 {
            return Cow::Borrowed(&self.data);
        }
        let over_white = |c: u8, a: u8| -> u8 {
            let (c, a) = (u32::from(c), u32::from(a));
            // (c·a + 255·(255 − a)) / 255, rounded; always ≤ 255.
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        Cow::Owned(
            self.data
                .chunks_exact(4)
                .flat_map(|p| {
                    [
                        over_white(p[0], p[3]),
                        over_white(p[1], p[3]),
                        over_white(p[2], p[3]),
                    ]
                })
                .collect(),
        )
    }

    /// Apply EXIF orientation `orientation` (1–8) so the image is upright.
    pub fn orient(self, orientation: u16) -> Pixels {
        if !(2..=8).contains(&orientation) {
            return self;
        }
        let (w, h, n) = (self.width as usize, self.height as usize, self.channels);
        let (out_w, out_h) = if orientation >= 5 { (h, w) } else { (w, h) };
        // For each output pixel (x, y), the source pixel it comes from.
        let source = |x: usize, y: usize| -> (usize, usize) {
            match orientation {
                2 => (w - 1 - x, y),         // mirrored horizontally
                3 => (w - 1 - x, h - 1 - y), // rotated 180°
                4 => (x, h - 1 - y),         // mirrored vertically
                5 => (y, x),                 // transposed
                6 => (y, h - 1 - x),         // rotate 90° clockwise
                7 => (w - 1 - y, h - 1 - x), // transversed
                _ => (w - 1 - y, x),         // 8: rotate 90° counter-clockwise
            }
        };
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..out_h {
            for x in 0..out_w {
                let (sx, sy) = source(x, y);
                let at = (sy * w + sx) * n;
                data.extend_from_slice(&self.data[at..at + n]);
            }
        }
        Pixels {
            width: out_w as u32,
            height: out_h as u32,
            channels: n,
            data,
        }
    }
}

/// RGB from 8-bit grey.
pub fn gray_to_rgb(gray: &[u8]) -> Vec<u8> {
    gray.iter().flat_map(|&g| [g, g, g]).collect()
}

/// RGB from CMYK as jpeg-decoder returns it (not inverted): a naive
/// conversion, good enough for the rare CMYK upload.
pub fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let channel = |v: u8, k: u8| -> u8 {
        let (v, k) = (255 - u32::from(v), 255 - u32::from(k));
        ((v * k + 127) / 255) as u8
    };
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            [
                channel(p[0], p[3]),
                channel(p[1], p[3]),
                channel(p[2], p[3]),
            ]
        })
        .collect()
}
