//! The users tests act as: fixed ids, so that a failing test names them.

/// The artisan most tests list products as.
pub const ARTISAN: &str = "artisan-meera";
/// Another artisan, who owns nothing of [`ARTISAN`]'s.
pub const OTHER_ARTISAN: &str = "artisan-ravi";
/// The buyer most tests order as.
pub const BUYER: &str = "buyer-anita";
pub const ADMIN: &str = "admin-kavya";
/// The `service` identity that pushes events.
pub const SERVICE: &str = "svc-pubsub";
