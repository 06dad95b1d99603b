//! The image pipeline: sniff the format from magic bytes, probe the size
//! from the header alone, decode once (JPEG straight at a DCT-reduced
//! scale), turn the pixels upright from EXIF, resize with
//! `fast_image_resize` and re-encode every variant from pixels (WebP via
//! libwebp, progressive JPEG), so no metadata survives, plus a blurhash
//! placeholder. Synchronous and CPU-bound: call it inside `spawn_blocking`.

mod encode;
mod placeholder;
mod resize;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;

pub use imaging::{Format, Limits, PipelineError, Probe, probe, sniff};
use imaging::{Pixels, source};

/// One size to derive, in one or more formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSpec {
    /// Name of the variant, e.g. `thumb`.
    pub name: String,
    /// Longest side; smaller sources are never upscaled.
    pub max_side: u32,
    /// Output formats: `Webp` and/or `Jpeg` (progressive). `Png` is written
    /// as WebP.
    pub formats: Vec<Format>,
    /// Encoder quality, 1–100.
    pub quality: u8,
}

/// thumb 300, medium 800 and large 1600 px, each as WebP and progressive
/// JPEG, quality 82.
pub fn default_variants() -> Vec<VariantSpec> {
    [("thumb", 300), ("medium", 800), ("large", 1600)]
        .into_iter()
        .map(|(name, max_side)| VariantSpec {
            name: name.to_owned(),
            max_side,
            formats: vec![Format::Webp, Format::Jpeg],
            quality: 82,
        })
        .collect()
}

/// One encoded variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The spec's name.
    pub variant: String,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// What to show while the image loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Blurhash with 4×3 components.
    pub blurhash: String,
    /// Mean colour in linear light, `#rrggbb`.
    pub dominant_color: String,
}

/// The result of [`process`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// Format of the original.
    pub format: Format,
    /// Width of the original as displayed (after orientation).
    pub width: u32,
    /// Height of the original as displayed (after orientation).
    pub height: u32,
    /// In the order of the specs, each spec's formats in its order.
    pub variants: Vec<Encoded>,
    pub placeholder: Placeholder,
}

/// Longest side of the image the placeholder is computed from when no
/// variant is small enough.
const PLACEHOLDER_SIDE: u32 = 100;

/// Decode `bytes` once, turn it upright, resize it for every spec, largest
/// first and each from the previous size, then encode every variant (on
/// up to 4 threads, no more than the cores, costliest first).
pub fn process(
    bytes: &[u8],
    limits: &Limits,
    specs: &[VariantSpec],
) -> Result<Processed, PipelineError> {
    let source = source::open(bytes, limits)?;
    let probe = source.probe();
    let (width, height) = (probe.width, probe.height);
    let targets: Vec<(u32, u32)> = specs
        .iter()
        .map(|spec| resize::fit(width, height, spec.max_side))
        .collect();
    let needed = targets
        .iter()
        .map(|&(w, h)| w.max(h))
        .max()
        .unwrap_or(PLACEHOLDER_SIDE);
    let upright = source.decode(needed)?.orient(probe.orientation);

    // The resize cascade: `sizes` holds each distinct size once.
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by_key(|&i| Reverse(targets[i].0.max(targets[i].1)));
    let mut resizer = resize::Resizer::new();
    let mut sizes: Vec<Pixels> = vec![upright];
    let mut size_of = vec![0; specs.len()];
    for i in order {
        let last = &sizes[sizes.len() - 1];
        if (last.width, last.height) != targets[i] {
            let next = resizer.resize(last, targets[i])?;
            sizes.push(next);
        }
        size_of[i] = sizes.len() - 1;
    }

    let mut jobs = Vec::new();
    let mut names = Vec::new();
    for (spec, &size) in specs.iter().zip(&size_of) {
        for &format in &spec.formats {
            jobs.push(encode::Job {
                pixels: &sizes[size],
                format,
                quality: spec.quality,
            });
            names.push(&spec.name);
        }
    }
    let variants = encode::run(&jobs)?
        .into_iter()
        .zip(jobs.iter().zip(names))
        .map(|((format, bytes), (job, name))| Encoded {
            variant: name.clone(),
            format,
            width: job.pixels.width,
            height: job.pixels.height,
            bytes,
        })
        .collect();

    let smallest = &sizes[sizes.len() - 1];
    let placeholder = if smallest.width.max(smallest.height) > 3 * PLACEHOLDER_SIDE {
        let small = resize::fit(smallest.width, smallest.height, PLACEHOLDER_SIDE);
        placeholder::placeholder(&resizer.resize(smallest, small)?)?
    } else {
        placeholder::placeholder(smallest)?
    };
    Ok(Processed {
        format: probe.format,
        width,
        height,
        variants,
        placeholder,
    })
}
