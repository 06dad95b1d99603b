//! The auth domain, free of HTTP: accounts and credentials, sessions and
//! refresh-token families, the token issuer and its signing keys, and the
//! API descriptions of the credential rules.

pub mod accounts;
pub mod credentials;
pub mod firebase;
pub mod keyring;
pub mod schemas;
pub mod sessions;
pub mod tokens;
pub mod users;
