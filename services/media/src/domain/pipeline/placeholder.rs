//! The placeholder shown while an image loads: a 4×3 blurhash and the
//! mean colour in linear light.

use crate::domain::pipeline::{PipelineError, Placeholder};
use imaging::Pixels;

/// The placeholder of `pixels` (a thumbnail; transparency shows as white).
pub(crate) fn placeholder(pixels: &Pixels) -> Result<Placeholder, PipelineError> {
    let rgb = pixels.rgb_on_white();
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], u8::MAX])
        .collect();
    let blurhash = blurhash::encode(4, 3, pixels.width, pixels.height, &rgba)
        .map_err(|e| PipelineError::Encode(format!("blurhash: {e}")))?;
    Ok(Placeholder {
        blurhash,
        dominant_color: mean_color(&rgb),
    })
}

/// The mean of sRGB pixels, averaged in linear light, as `#rrggbb`.
fn mean_color(rgb: &[u8]) -> String {
    let to_linear: Vec<f64> = (0..=255u8)
        .map(|v| srgb_to_linear(f64::from(v) / 255.0))
        .collect();
    let mut sum = [0.0f64; 3];
    for p in rgb.chunks_exact(3) {
        for (s, &v) in sum.iter_mut().zip(p) {
            *s += to_linear[usize::from(v)];
        }
    }
    let count = (rgb.len() / 3).max(1) as f64;
    let [r, g, b] = sum.map(|s| {
        (linear_to_srgb(s / count) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    });
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}
