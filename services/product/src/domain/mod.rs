//! The product domain, free of HTTP: products and the catalogue, listing,
//! orders, engagement, keeping the search index in step, the events the
//! service consumes, and the narrow interfaces to the media and ML services.

pub mod clients;
pub mod consumer;
pub mod engagement;
pub mod indexing;
pub mod listing;
pub mod orders;
pub mod payments;
pub mod products;
pub mod snapshots;
