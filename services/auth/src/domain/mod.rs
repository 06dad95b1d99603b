//! The auth domain, free of HTTP: accounts and credentials, sessions and
//! refresh-token families, signing keys.

pub mod credentials;
pub mod keyring;
pub mod sessions;
pub mod users;
