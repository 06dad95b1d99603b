#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cloud_run;
mod helpers;
mod limits;
mod resilience;
mod routing;
mod streaming;
mod token_attacks;
