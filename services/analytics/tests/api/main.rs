//! HTTP tests of the analytics service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dashboard;
mod helpers;
mod market;
mod performance;
mod reports;
