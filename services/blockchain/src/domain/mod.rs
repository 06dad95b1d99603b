//! What the blockchain service knows and does, apart from HTTP: the chain
//! and its contracts, the product hash, the peers it asks, provenance
//! tokens and order payments.

pub mod chain;
pub mod clients;
pub mod contracts;
pub mod deploy;
pub mod escrow;
pub mod hashing;
pub mod node;
pub mod payments;
pub mod provenance;
