//! Sizes and resizing, with `fast_image_resize` (SIMD Lanczos3
//! convolution) only.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions};

use crate::domain::pipeline::PipelineError;
use imaging::Pixels;

/// The size of a `width`×`height` image fitted into `max_side`, aspect
/// kept, never upscaled, never below 1 px.
pub(crate) fn fit(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let long = width.max(height);
    let max_side = max_side.max(1);
    if long <= max_side {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled =
            (u64::from(side) * u64::from(max_side) + u64::from(long) / 2) / u64::from(long);
        // At most `max_side`, so it fits.
        (scaled as u32).max(1)
    };
    if width >= height {
        (max_side, scale(height))
    } else {
        (scale(width), max_side)
    }
}

/// A resizer keeping its buffers between calls.
pub(crate) struct Resizer {
    inner: fast_image_resize::Resizer,
    options: ResizeOptions,
}

impl Resizer {
    pub(crate) fn new() -> Resizer {
        Resizer {
            inner: fast_image_resize::Resizer::new(),
            options: ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
        }
    }

    /// `src` resized to `width`×`height`; RGBA is resized with
    /// premultiplied alpha.
    pub(crate) fn resize(
        &mut self,
        src: &Pixels,
        (width, height): (u32, u32),
    ) -> Result<Pixels, PipelineError> {
        let pixel_type = if src.channels == 4 {
            PixelType::U8x4
        } else {
            PixelType::U8x3
        };
        let from = ImageRef::new(src.width, src.height, &src.data, pixel_type)
            .map_err(|e| PipelineError::Encode(format!("resize: {e}")))?;
        let mut to = Image::new(width, height, pixel_type);
        self.inner
            .resize(&from, &mut to, &self.options)
            .map_err(|e| PipelineError::Encode(format!("resize: {e}")))?;
        Ok(Pixels {
            width,
            height,
            channels: src.channels,
            data: to.into_vec(),
        })
    }
}
