//! The product domain, free of HTTP: products, orders, engagement, and the
//! narrow interfaces to the media and ML services.

pub mod clients;
pub mod orders;
pub mod products;
