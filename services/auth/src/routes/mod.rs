//! HTTP routes of the auth service, one module per resource.

pub mod accounts;
pub mod keys;
pub mod profile;
pub mod sessions;
