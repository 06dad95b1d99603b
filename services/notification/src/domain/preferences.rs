//! What a user wants: channels per category, quiet hours in their time
//! zone, their language, and where to reach them. And what the platform
//! knows of them from `user.registered` (their email and languages).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use store::Entity;
use utoipa::ToSchema;

use super::{Category, ChannelKind};

/// The zone a user without one is in.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Kolkata";
/// The most push tokens (devices) per user.
pub const MAX_PUSH_TOKENS: usize = 5;

/// Whether a channel may carry each category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelChoice {
    pub transactional: bool,
    pub marketing: bool,
}

/// Quiet hours, local time `HH:MM` (may cross midnight: 22:00–07:00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "22:00")]
    pub start: String,
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "07:00")]
    pub end: String,
}

/// A user's preferences; the id is the user's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Preferences {
    /// `en`, `hi`, `bn`, `ta`, `te` or `mr`; the profile's languages when
    /// absent.
    pub language: Option<String>,
    /// An IANA zone (`Asia/Kolkata`).
    pub time_zone: String,
    pub quiet_hours: Option<QuietHours>,
    /// Per channel; a channel not named keeps its default.
    pub channels: BTreeMap<ChannelKind, ChannelChoice>,
    /// Where email goes (the account's email when absent).
    pub email: Option<String>,
    /// E.164, for SMS and WhatsApp.
    pub phone: Option<String>,
    /// FCM registration tokens of the user's devices.
    pub push_tokens: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Entity for Preferences {
    const COLLECTION: &'static str = "preferences";
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            language: None,
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
            quiet_hours: None,
            channels: BTreeMap::new(),
            email: None,
            phone: None,
            push_tokens: Vec::new(),
            updated_at: None,
        }
    }
}

/// What a channel carries unless the user says otherwise: every
/// transactional message; marketing by email, push and in-app only (SMS
/// and WhatsApp marketing need the user's consent first).
pub fn default_choice(channel: ChannelKind) -> ChannelChoice {
    ChannelChoice {
        transactional: true,
        marketing: matches!(
            channel,
            ChannelKind::Email | ChannelKind::Push | ChannelKind::InApp
        ),
    }
}

impl Preferences {
    /// Every channel's choice, defaults filled in.
    pub fn effective(&self) -> BTreeMap<ChannelKind, ChannelChoice> {
        ChannelKind::ALL
            .iter()
            .map(|c| {
                (
                    *c,
                    self.channels.get(c).copied().unwrap_or(default_choice(*c)),
                )
            })
            .collect()
    }

    /// Whether `channel` may carry a message of `category`. In-app
    /// transactional messages always may (they are the record).
    pub fn allows(&self, channel: ChannelKind, category: Category) -> bool {
        let choice = self
            .channels
            .get(&channel)
            .copied()
            .unwrap_or(default_choice(channel));
        match category {
            Category::Transactional => channel == ChannelKind::InApp || choice.transactional,
            Category::Marketing => choice.marketing,
        }
    }

    pub fn zone(&self) -> Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Kolkata)
    }

    /// When the quiet hours around `now` end, if `now` is in them.
    pub fn quiet_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let quiet = self.quiet_hours.as_ref()?;
        let (start, end) = (parse_time(&quiet.start)?, parse_time(&quiet.end)?);
        quiet_until(self.zone(), start, end, now)
    }

    /// Stop every marketing message (an unsubscribe link's effect).
    pub fn unsubscribe_marketing(&mut self) {
        for channel in ChannelKind::ALL {
            let mut choice = self
                .channels
                .get(&channel)
                .copied()
                .unwrap_or(default_choice(channel));
            choice.marketing = false;
            self.channels.insert(channel, choice);
        }
    }
}

/// `HH:MM`.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    if s.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

fn quiet_until(
    zone: Tz,
    start: NaiveTime,
    end: NaiveTime,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if start == end {
        return None;
    }
    let local = now.with_timezone(&zone);
    let t = local.time();
    let inside = if start < end {
        t >= start && t < end
    } else {
        t >= start || t < end
    };
    if !inside {
        return None;
    }
    let mut day = local.date_naive();
    if t >= end {
        day += Duration::days(1);
    }
    // A gap at a zone's change of offset: the first instant after it.
    let ends = day.and_time(end);
    let at = zone.from_local_datetime(&ends).earliest().or_else(|| {
        zone.from_local_datetime(&(ends + Duration::hours(1)))
            .earliest()
    })?;
    Some(at.with_timezone(&Utc))
}

/// What the platform knows of a user from `user.registered`; the id is
/// the user's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub languages: Vec<String>,
    pub region: String,
}

impl Entity for Recipient {
    const COLLECTION: &'static str = "recipients";
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn prefs(start: &str, end: &str) -> Preferences {
        Preferences {
            quiet_hours: Some(QuietHours {
                start: start.into(),
                end: end.into(),
            }),
            ..Preferences::default()
        }
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning_in_the_users_zone() {
        let p = prefs("22:00", "07:00");
        // 23:30 in Kolkata is 18:00 UTC; quiet until 07:00 IST = 01:30 UTC.
        assert_eq!(
            p.quiet_until(at("2026-12-06T18:00:00Z")),
            Some(at("2026-12-07T01:30:00Z"))
        );
        // 05:00 IST: until 07:00 IST the same day.
        assert_eq!(
            p.quiet_until(at("2026-12-05T23:30:00Z")),
            Some(at("2026-12-06T01:30:00Z"))
        );
        // Noon IST: not quiet.
        assert_eq!(p.quiet_until(at("2026-12-06T06:30:00Z")), None);
    }

    #[test]
    fn quiet_hours_within_a_day_and_other_zones() {
        let mut p = prefs("13:00", "14:00");
        p.time_zone = "Europe/London".into();
        assert_eq!(
            p.quiet_until(at("2026-12-06T13:15:00Z")),
            Some(at("2026-12-06T14:00:00Z"))
        );
        assert_eq!(p.quiet_until(at("2026-12-06T14:00:00Z")), None);
    }

    #[test]
    fn transactional_in_app_cannot_be_turned_off_and_marketing_can() {
        let mut p = Preferences::default();
        assert!(p.allows(ChannelKind::Email, Category::Marketing));
        assert!(!p.allows(ChannelKind::Sms, Category::Marketing));
        p.channels.insert(
            ChannelKind::InApp,
            ChannelChoice {
                transactional: false,
                marketing: false,
            },
        );
        assert!(p.allows(ChannelKind::InApp, Category::Transactional));
        p.unsubscribe_marketing();
        assert!(!p.allows(ChannelKind::Email, Category::Marketing));
        assert!(p.allows(ChannelKind::Email, Category::Transactional));
    }
}
