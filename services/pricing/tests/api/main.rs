//! HTTP tests of the pricing service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod calculate;
mod helpers;
mod listing;
mod market;
mod ml_client;
mod optimize;
