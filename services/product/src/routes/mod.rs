//! HTTP routes of the product service, one module per resource.

pub mod engagement;
pub mod orders;
pub mod products;
pub mod search;
