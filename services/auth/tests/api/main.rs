//! HTTP tests of the auth service, in process: one module per resource.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds;
mod helpers;
mod keys;
mod login;
mod profile;
mod revocation;
mod sessions;
mod signup;
