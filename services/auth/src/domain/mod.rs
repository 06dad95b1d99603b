//! The auth domain, free of HTTP: accounts and credentials, sessions and
//! refresh-token families, the token issuer and its signing keys.

pub mod accounts;
pub mod credentials;
pub mod keyring;
pub mod sessions;
pub mod tokens;
pub mod users;
