//! HTTP tests of the ML service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod analyze;
mod demand;
mod helpers;
mod jobs;
mod moodboard;
mod price;
mod text;
