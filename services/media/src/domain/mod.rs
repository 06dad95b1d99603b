//! What the media service knows and does apart from HTTP: media records
//! and who may change them ([`media`]), the [`Library`] that ingests,
//! re-optimises, serves and deletes them, the image [`pipeline`] and the
//! [`blobs`] store their bytes live in.

pub use ::blobs;
mod ingest;
mod library;
mod media;
pub mod pipeline;
mod publication;
mod variants;

pub use self::ingest::{MAX_FILES, Upload};
pub use self::library::Library;
pub use self::media::{
    ByHash, Media, MediaView, Placeholder, Variant, VariantView, hash_key, original_key,
    variant_key,
};
pub use self::publication::{MAX_MEDIA_PER_PRODUCT, Publication, Publications, PublishedBy};
