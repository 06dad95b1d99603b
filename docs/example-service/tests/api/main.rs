//! HTTP tests of the reviews service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod reviews;
