//! Sessions: ID tokens shaped like Firebase's, and rotating refresh tokens
//! grouped in families. A refresh token is used once; presenting a used
//! one again means it was stolen, and revokes its whole family.

use chrono::{DateTime, Utc};
use common::identity::{Claims, FirebaseClaims, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::Entity;
use utoipa::ToSchema;

/// A refresh token, stored by the hash of its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub family_id: String,
    pub uid: String,
    pub created_at: DateTime<Utc>,
    /// Set when it is exchanged; a second use revokes the family.
    pub used_at: Option<DateTime<Utc>>,
}

impl Entity for RefreshToken {
    const COLLECTION: &'static str = "refresh_tokens";
}

/// A login and every refresh token rotated from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenFamily {
    pub uid: String,
    /// When the user signed in (the ID token's `auth_time`).
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

impl Entity for TokenFamily {
    const COLLECTION: &'static str = "token_families";
}

/// A new refresh token: the value for the client, the key it is stored by.
pub struct NewRefreshToken {
    pub value: String,
    pub key: String,
}

impl NewRefreshToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let value =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
        let key = refresh_key(&value);
        Self { value, key }
    }
}

/// The storage key of a refresh token value (its SHA-256), so a leaked
/// store does not leak usable tokens.
pub fn refresh_key(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A token pair, as every login, signup and refresh answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub id_token: String,
    pub refresh_token: String,
    /// Seconds until the ID token expires.
    pub expires_in: u64,
}

/// What goes into an ID token.
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub uid: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub role: Role,
    pub auth_time: DateTime<Utc>,
    pub ttl_secs: u64,
    pub provider: &'a str,
}

impl IdTokenInput<'_> {
    pub fn claims(&self) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            iss: self.issuer.to_owned(),
            aud: self.audience.to_owned(),
            sub: self.uid.to_owned(),
            iat: now,
            exp: now + i64::try_from(self.ttl_secs).unwrap_or(3600),
            auth_time: Some(self.auth_time.timestamp()),
            user_id: Some(self.uid.to_owned()),
            email: self.email.map(str::to_owned),
            email_verified: self.email.map(|_| false),
            name: self.name.map(str::to_owned),
            role: Some(self.role),
            firebase: Some(FirebaseClaims {
                sign_in_provider: self.provider.to_owned(),
            }),
        }
    }
}
