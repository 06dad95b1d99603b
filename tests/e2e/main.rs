//! End-to-end tests: real services started by the launcher, driven over
//! HTTP with real tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blockchain;
mod events;
mod gateway;
mod media;
