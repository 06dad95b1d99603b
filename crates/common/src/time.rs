//! Time on the wire is RFC 3339 in UTC (`2026-11-24T10:22:08.123456Z`).

use chrono::{DateTime, SubsecRound, Utc};

/// A UTC instant; serialises as RFC 3339.
pub type Timestamp = DateTime<Utc>;

/// Now, truncated to microseconds so that it survives every store and
/// compares equal after a round trip.
pub fn now() -> Timestamp {
    Utc::now().trunc_subsecs(6)
}

/// The months' English names, January first.
pub const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
