//! The blockchain service over HTTP against a real anvil node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod escrow;
mod fakes;
mod helpers;
mod payments;
mod provenance;
