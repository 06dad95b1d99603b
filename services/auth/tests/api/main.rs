//! HTTP tests of the auth service, in process: one module per resource.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds;
mod fake_firebase;
mod firebase;
mod firebase_emulator;
mod helpers;
mod keys;
mod login;
mod profile;
mod revocation;
mod sessions;
mod signup;
