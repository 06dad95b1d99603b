//! What every CraftChain service shares: the problem+json error, request
//! extractors, typed configuration, telemetry, identity (token verification
//! and the caller extractor), the inter-service `ServiceClient`, wire types
//! (money, pagination, time) and `serve()`.

pub mod bounded;
pub mod caller;
pub mod catalogue;
pub mod client;
pub mod config;
pub mod context;
pub mod dimensions;
pub mod error;
pub mod extract;
pub mod id;
pub mod identity;
pub mod mix;
pub mod money;
pub mod pagination;
pub mod platform;
pub mod preconditions;
pub mod schema;
pub mod serve;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod tools;
pub mod wallet;

pub use client::{CallOptions, ClientError, ServiceClient};
pub use config::{Config, ServiceSettings, SharedConfig};
pub use context::RequestContext;
pub use dimensions::{Dimensions, LengthUnit};
pub use error::{ApiError, Code, FieldError, Problem, Validator};
pub use extract::{Json, Path, Query};
pub use id::Id;
pub use identity::{Authenticator, Caller, Role};
pub use money::{Currency, Money};
pub use pagination::{Page, PageParams};
pub use serve::{ReadinessCheck, Server, Service, serve};
pub use time::Timestamp;

/// What the crate's macros refer to.
#[doc(hidden)]
pub mod __private {
    pub use axum;
}
