//! What the gateway does, free of its routes: which service a path goes
//! to, who is calling, rate limits, the connection pools and breakers of
//! the upstreams, and the streaming forward with its header rules.

pub mod auth;
pub mod breaker;
pub mod forward;
pub mod headers;
pub mod limits;
pub mod pool;
pub mod routing;
pub mod upstream;
