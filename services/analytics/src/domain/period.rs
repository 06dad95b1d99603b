//! The periods figures are asked for, and their windows.

use serde::{Deserialize, Serialize};

use crate::facts::Window;

/// A period ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Period {
    #[serde(rename = "7d")]
    Week,
    #[default]
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
    #[serde(rename = "365d")]
    Year,
}

impl Period {
    pub fn days(self) -> i64 {
        match self {
            Period::Week => 7,
            Period::Month => 30,
            Period::Quarter => 90,
            Period::Year => 365,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "7d",
            Period::Month => "30d",
            Period::Quarter => "90d",
            Period::Year => "365d",
        }
    }

    /// The period ending at `now` (seconds): exactly so many days back, so
    /// that it and the period before it ([`Window::previous`]) are equally
    /// long.
    pub fn window(self, now: i64) -> Window {
        Window {
            from: now + 1 - self.days() * 86_400,
            to: now + 1,
        }
    }
}

/// Now, in seconds since the Unix epoch.
pub fn now() -> i64 {
    common::time::now().timestamp()
}

/// A window as the answer shows it: RFC 3339 bounds.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Span {
    pub from: String,
    pub to: String,
}

impl From<Window> for Span {
    fn from(w: Window) -> Self {
        let at = |s: i64| {
            chrono::DateTime::from_timestamp(s, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        Span {
            from: at(w.from),
            to: at(w.to),
        }
    }
}

/// The last three years, for seasons (a month of the year needs several
/// years to be a pattern rather than one good month).
pub fn seasons(now: i64) -> Window {
    Window {
        from: now + 1 - 3 * 365 * 86_400,
        to: now + 1,
    }
}
