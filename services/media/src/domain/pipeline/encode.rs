//! Encoders: WebP through libwebp (lossy, alpha kept), JPEG through
//! jpeg-encoder (progressive, optimised Huffman tables, 4:2:0). Both
//! write pixels only: no EXIF, XMP or ICC.

use std::sync::atomic::{AtomicUsize, Ordering};

use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, SamplingFactor};

use crate::domain::pipeline::{Format, PipelineError};
use imaging::Pixels;

/// Most threads one upload encodes on.
pub(crate) const MAX_THREADS: usize = 4;

/// One variant to encode.
pub(crate) struct Job<'a> {
    pub(crate) pixels: &'a Pixels,
    /// `Png` is written as WebP.
    pub(crate) format: Format,
    pub(crate) quality: u8,
}

/// Encode every job, in parallel on up to [`MAX_THREADS`] threads (no more
/// than the machine's cores), the costliest first; the results, format
/// written and bytes, in the order of `jobs`.
pub(crate) fn run(jobs: &[Job<'_>]) -> Result<Vec<(Format, Vec<u8>)>, PipelineError> {
    // Costliest first: most pixels, WebP before JPEG (several times slower).
    let mut schedule: Vec<usize> = (0..jobs.len()).collect();
    schedule.sort_by_key(|&k| {
        let job = &jobs[k];
        let pixels = u64::from(job.pixels.width) * u64::from(job.pixels.height);
        std::cmp::Reverse(if job.format == Format::Jpeg {
            pixels
        } else {
            pixels * 4
        })
    });
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_THREADS)
        .min(jobs.len());
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        while let Some(&k) = schedule.get(next.fetch_add(1, Ordering::Relaxed)) {
            done.push((k, encode(&jobs[k])));
        }
        done
    };
    let finished = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut finished = work();
        for helper in helpers {
            match helper.join() {
                Ok(done) => finished.extend(done),
                Err(_) => {
                    return Err(PipelineError::Encode(
                        "an encoder thread panicked".to_owned(),
                    ));
                }
            }
        }
        Ok(finished)
    })?;
    let mut out: Vec<Option<(Format, Vec<u8>)>> = vec![None; jobs.len()];
    for (k, result) in finished {
        out[k] = Some(result?);
    }
    out.into_iter()
        .map(|o| o.ok_or_else(|| PipelineError::Encode("a variant was not encoded".to_owned())))
        .collect()
}

fn encode(job: &Job<'_>) -> Result<(Format, Vec<u8>), PipelineError> {
    match job.format {
        Format::Jpeg => Ok((Format::Jpeg, jpeg(job.pixels, job.quality)?)),
        Format::Webp | Format::Png => Ok((Format::Webp, webp(job.pixels, job.quality)?)),
    }
}

/// Lossy WebP at `quality` (1–100), RGBA if `pixels` has alpha.
pub(crate) fn webp(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, PipelineError> {
    let encoder = if pixels.channels == 4 {
        webp::Encoder::from_rgba(&pixels.data, pixels.width, pixels.height)
    } else {
        webp::Encoder::from_rgb(&pixels.data, pixels.width, pixels.height)
    };
    let memory = encoder
        .encode_simple(false, f32::from(quality.clamp(1, 100)))
        .map_err(|e| PipelineError::Encode(format!("webp: {e:?}")))?;
    Ok(memory.to_vec())
}

/// Progressive JPEG at `quality` (1–100), alpha composited onto white.
pub(crate) fn jpeg(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, PipelineError> {
    let side = |v: u32| {
        u16::try_from(v).map_err(|_| PipelineError::Encode(format!("jpeg: side {v} over 65535")))
    };
    let (width, height) = (side(pixels.width)?, side(pixels.height)?);
    let rgb = pixels.rgb_on_white();
    let mut out = Vec::with_capacity(rgb.len() / 10);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    // Progressive in two scans (DC, then all AC): a blurred preview first.
    // jpeg-encoder splits scans by spectral selection only, and every extra
    // scan costs bytes: 2 scans are as small as baseline (and within 2% of
    // libjpeg-turbo's progressive), its default 4 are ~7–12% bigger.
    encoder.set_progressive_scans(2);
    encoder.set_optimized_huffman_tables(true);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder
        .encode(&rgb, width, height, ColorType::Rgb)
        .map_err(|e| PipelineError::Encode(format!("jpeg: {e}")))?;
    Ok(out)
}
