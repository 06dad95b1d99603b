#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod helpers;
mod limits;
mod resilience;
mod routing;
mod streaming;
