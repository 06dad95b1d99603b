//! HTTP tests of the media service, in process (a real socket only for the
//! concurrency limit): uploads, serving and management.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds;
mod gcs;
mod helpers;
mod manage;
mod serving;
mod upload;
mod visibility;
