//! Images in, pixels out, safely: the format sniffed from magic bytes, the
//! size read from the header and checked against limits before any pixel
//! buffer exists, EXIF orientation, and one decode (JPEG straight at the
//! smallest DCT scale that covers what is needed). Shared by the services
//! that read images (media's variants, ml's analysis). Synchronous and
//! CPU-bound: call it inside `spawn_blocking`.

pub mod pixels;
pub mod source;

use common::ApiError;
use http::StatusCode;

pub use pixels::Pixels;
pub use source::{Source, open};

/// The image formats the pipeline reads; variants are written as WebP or JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    /// The media type, e.g. `image/webp`.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }
}

/// The format of `bytes` by its magic bytes alone; names and declared
/// types are never trusted. `None` for anything else (text, SVG, HTML…).
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some(Format::Webp)
    } else {
        None
    }
}

/// What an upload may be. Sizes are checked from the header, before any
/// pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest file, in bytes.
    pub max_bytes: usize,
    /// Most pixels (width × height).
    pub max_pixels: u64,
    /// Longest side, in pixels.
    pub max_side: u32,
}

impl Default for Limits {
    /// 25 MiB, 50 Mpx, 12,000 px.
    fn default() -> Self {
        Limits {
            max_bytes: 25 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_side: 12_000,
        }
    }
}

/// Why an image was refused or could not be processed. Each service maps it to
/// the status and code each variant names.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// 415 `unsupported_media_type`: not JPEG, PNG or WebP by its magic bytes.
    #[error("unsupported image format")]
    Unsupported,
    /// 422 `corrupt_image`: truncated or invalid data.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// 422 `image_too_large`: the header declares more pixels or a longer
    /// side than allowed.
    #[error("image too large: {width}×{height}")]
    TooLarge { width: u32, height: u32 },
    /// 413 `payload_too_large`: the file has more bytes than `Limits::max_bytes`.
    #[error("file too large: {len} bytes, at most {max}")]
    FileTooLarge { len: usize, max: usize },
    /// 500 `internal`: resizing or encoding failed, a bug or resource
    /// problem of ours.
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// What the header says, read without decoding any pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    /// Width as displayed, i.e. after the EXIF orientation.
    pub width: u32,
    /// Height as displayed, i.e. after the EXIF orientation.
    pub height: u32,
    /// EXIF orientation, 1 (as stored) to 8.
    pub orientation: u16,
}

/// Check `bytes` from its header only: format, size against `limits`,
/// orientation. A PNG declaring 100000×100000 is refused here before any
/// allocation.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probe, PipelineError> {
    source::open(bytes, limits).map(|source| source.probe())
}

common::problem_codes! {
    /// 422: the bytes claim a supported format but cannot be decoded.
    CORRUPT_IMAGE = "corrupt_image",
    /// 422: the image's header declares more pixels than accepted.
    IMAGE_TOO_LARGE = "image_too_large",
}

/// The one place an image's refusal becomes a problem, for every service
/// that reads images.
impl From<PipelineError> for ApiError {
    fn from(err: PipelineError) -> Self {
        use common::error::codes::{PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE};
        match err {
            PipelineError::Unsupported => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                UNSUPPORTED_MEDIA_TYPE,
                "only JPEG, PNG and WebP images are accepted",
            ),
            PipelineError::Corrupt(reason) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::CORRUPT_IMAGE,
                format!("the image cannot be read: {reason}"),
            ),
            PipelineError::TooLarge { width, height } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::IMAGE_TOO_LARGE,
                format!("the image declares {width}×{height} pixels, more than accepted"),
            ),
            PipelineError::FileTooLarge { max, .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                PAYLOAD_TOO_LARGE,
                format!("each file may have at most {max} bytes"),
            ),
            e @ PipelineError::Encode(_) => ApiError::internal(e),
        }
    }
}
