//! HTTP tests of the product service, in process (a real port only where
//! background work matters): one module per resource.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod clients;
mod engagement;
mod events;
mod helpers;
mod listing;
mod orders;
mod products;
mod search;
