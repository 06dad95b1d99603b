//! Accounts: the stored user, the profile an owner may edit, and the views
//! shown to the owner and to everyone else.

use chrono::{DateTime, Utc};
use common::error::Validator;
use common::identity::Role;
use common::schema;
use common::wallet::WalletAddress;
use serde::{Deserialize, Deserializer, Serialize};
use store::Entity;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema};

use crate::error::AuthError;

/// Languages a profile may list: English and the Indian languages the
/// platform writes descriptions in, plus other scheduled languages.
pub const LANGUAGES: &[&str] = &[
    "en", "hi", "bn", "ta", "te", "mr", "gu", "kn", "ml", "pa", "or", "as", "ur",
];

/// A stored account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub profile: Profile,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub disabled: bool,
    /// ID tokens issued before this are void (Firebase's
    /// `tokensValidAfterTime`), announced as `user.tokens_revoked`.
    #[serde(default)]
    pub tokens_valid_after: Option<DateTime<Utc>>,
    /// Sessions (refresh-token families) begun before this are void.
    #[serde(default)]
    pub sessions_valid_after: Option<DateTime<Utc>>,
}

impl Entity for User {
    const COLLECTION: &'static str = "users";
}

/// What an owner may edit about themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    pub region: Option<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    /// The craft practised (artisans).
    pub craft: Option<String>,
    /// Self-assessed skill, 1–5 (artisans).
    pub skill_level: Option<u8>,
    /// Where payouts and provenance tokens go (artisans); EIP-55.
    #[schema(value_type = Option<String>, example = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    pub wallet_address: Option<WalletAddress>,
}

/// Claim of an email address: documents keyed by the normalised email make
/// addresses unique (created in the same transaction as the user).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailClaim {
    pub uid: String,
}

impl Entity for EmailClaim {
    const COLLECTION: &'static str = "emails";
}

/// The owner's view of an account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub profile: Profile,
    pub created_at: DateTime<Utc>,
}

impl Me {
    pub fn new(id: &str, user: &User) -> Self {
        Self {
            id: id.to_owned(),
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            profile: user.profile.clone(),
            created_at: user.created_at,
        }
    }
}

/// What anyone signed in may see of an account (no email).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicProfile {
    pub id: String,
    pub display_name: String,
    pub role: Role,
    pub region: Option<String>,
    pub languages: Vec<String>,
    pub craft: Option<String>,
    pub skill_level: Option<u8>,
    #[schema(value_type = Option<String>)]
    pub wallet_address: Option<WalletAddress>,
    pub created_at: DateTime<Utc>,
}

impl PublicProfile {
    pub fn new(id: &str, user: &User) -> Self {
        Self {
            id: id.to_owned(),
            display_name: user.display_name.clone(),
            role: user.role,
            region: user.profile.region.clone(),
            languages: user.profile.languages.clone(),
            craft: user.profile.craft.clone(),
            skill_level: user.profile.skill_level,
            wallet_address: user.profile.wallet_address,
            created_at: user.created_at,
        }
    }
}

/// How the platform reaches an account: what the notification service
/// asks for (services and admins only; it carries the email).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub region: Option<String>,
    pub languages: Vec<String>,
    pub craft: Option<String>,
}

impl Contact {
    pub fn new(id: &str, user: &User) -> Self {
        Self {
            id: id.to_owned(),
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            region: user.profile.region.clone(),
            languages: user.profile.languages.clone(),
            craft: user.profile.craft.clone(),
        }
    }
}

/// `PATCH /auth/me`: every field optional; `null` clears a clearable field.
/// `craft`, `skill_level` and `wallet_address` may be set only by artisans
/// (and admins); anyone may clear them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// 1–80 characters, not blank (`null` leaves it as it is).
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub display_name: Option<String>,
    /// 1–80 characters, not blank; `null` clears it.
    #[serde(default, deserialize_with = "clearable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 80, pattern = "\\S")]
    pub region: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "common::bounded::opt_vec::<_, _, MAX_LANGUAGES>"
    )]
    #[schema(schema_with = languages_patch_schema)]
    pub languages: Option<Vec<String>>,
    /// The craft practised (artisans): 1–80 characters, not blank; `null`
    /// clears it.
    #[serde(default, deserialize_with = "clearable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 80, pattern = "\\S")]
    pub craft: Option<Option<String>>,
    /// Self-assessed skill, 1–5 (artisans); `null` clears it.
    #[serde(default, deserialize_with = "clearable")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub skill_level: Option<Option<u8>>,
    #[serde(default, deserialize_with = "clearable")]
    #[schema(schema_with = wallet_patch_schema)]
    pub wallet_address: Option<Option<String>>,
}

/// The API description of a list of languages as [`check_languages`]
/// checks it: known codes, each at most once.
pub fn languages_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(schema::string_enum(LANGUAGES.iter().copied()))
        .unique_items(true)
        .max_items(Some(LANGUAGES.len()))
        .description(Some("Language codes, each at most once."))
}

fn languages_patch_schema() -> Schema {
    schema::or_null(languages_schema().description(Some(
        "Language codes, each at most once; replaces the list (`null` leaves it as it is).",
    )))
}

fn wallet_patch_schema() -> Schema {
    schema::or_null(schema::wallet_address().description(Some(format!(
        "Where payouts and provenance tokens go (artisans); `null` removes it. {}",
        schema::WALLET_ADDRESS_RULE
    ))))
}

/// The roles an account can have (a `service` identity is no account).
pub const ACCOUNT_ROLES: [Role; 3] = [Role::Artisan, Role::Buyer, Role::Admin];

/// The API description of an account's role.
pub fn account_role_schema() -> ObjectBuilder {
    schema::string_enum(ACCOUNT_ROLES.map(Role::as_str))
}

/// Absent → `None`; `null` → `Some(None)`; a value → `Some(Some(v))`.
fn clearable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl ProfilePatch {
    /// Apply to `user`, or 422 naming every invalid field. Artisan-only
    /// fields are refused for other roles.
    pub fn apply(self, user: &mut User) -> Result<(), AuthError> {
        let mut v = Validator::new();
        let artisan = matches!(user.role, Role::Artisan | Role::Admin);
        if let Some(name) = self.display_name {
            v.length("display_name", &name, 1, 80);
            user.display_name = name.trim().to_owned();
        }
        if let Some(region) = self.region {
            if let Some(r) = &region {
                v.length("region", r, 1, 80);
            }
            user.profile.region = region.map(|r| r.trim().to_owned());
        }
        if let Some(languages) = self.languages {
            check_languages(&mut v, &languages);
            user.profile.languages = languages;
        }
        if let Some(craft) = self.craft {
            v.check(
                artisan || craft.is_none(),
                "craft",
                "artisans_only",
                "only artisans have a craft",
            );
            if let Some(c) = &craft {
                v.length("craft", c, 1, 80);
            }
            user.profile.craft = craft.map(|c| c.trim().to_owned());
        }
        if let Some(level) = self.skill_level {
            v.check(
                artisan || level.is_none(),
                "skill_level",
                "artisans_only",
                "only artisans have a skill level",
            );
            v.check(
                level.is_none_or(|l| (1..=5).contains(&l)),
                "skill_level",
                "out_of_range",
                "must be between 1 and 5",
            );
            user.profile.skill_level = level;
        }
        if let Some(wallet) = self.wallet_address {
            v.check(
                artisan || wallet.is_none(),
                "wallet_address",
                "artisans_only",
                "only artisans receive payouts",
            );
            user.profile.wallet_address =
                match wallet.map(|w| w.parse::<WalletAddress>()).transpose() {
                    Ok(w) => w,
                    Err(e) => {
                        v.check(false, "wallet_address", "invalid", e.to_string());
                        None
                    }
                };
        }
        Ok(v.finish()?)
    }
}

/// The most languages a profile lists (each known one once).
pub const MAX_LANGUAGES: usize = LANGUAGES.len();

/// Languages must be known codes, without repeats (checked in linear time,
/// and not at all past the maximum).
pub fn check_languages(v: &mut Validator, languages: &[String]) {
    if !v.items("languages", languages.len(), MAX_LANGUAGES) {
        return;
    }
    let mut seen = std::collections::HashSet::with_capacity(languages.len());
    for (i, lang) in languages.iter().enumerate() {
        let known = LANGUAGES.contains(&lang.as_str());
        v.check_with(
            known,
            &format!("languages[{i}]"),
            "unknown_language",
            || "not a language code this platform knows (see the schema)".to_owned(),
        );
        v.check(
            seen.insert(lang.as_str()),
            &format!("languages[{i}]"),
            "duplicate",
            "listed twice",
        );
    }
}
