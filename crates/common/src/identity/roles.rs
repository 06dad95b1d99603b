//! Roles, the ID token payload (`Claims`) and the authenticated `Caller`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::VerifyError;

/// What a caller may do. Serialized lowercase (`"artisan"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Makes and sells crafts.
    Artisan,
    /// Browses and buys.
    Buyer,
    /// Operates the marketplace.
    Admin,
    /// Another CraftChain service (service-to-service calls).
    Service,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 4] = [Role::Artisan, Role::Buyer, Role::Admin, Role::Service];

    /// The wire name (`"artisan"`, `"buyer"`, `"admin"`, `"service"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Artisan => "artisan",
            Role::Buyer => "buyer",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not one of the four role names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected artisan, buyer, admin or service")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// The `firebase` claim of a Firebase ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirebaseClaims {
    /// How the user signed in (`"password"`, `"google.com"`, `"custom"`, …).
    pub sign_in_provider: String,
}

/// The payload of an ID token, shaped like a Firebase ID token. Google OIDC
/// tokens fit too: they simply leave the Firebase-specific fields out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience (a single string; arrays are not accepted).
    pub aud: String,
    /// Subject: the user id.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// When the user authenticated, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Firebase repeats `sub` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The user's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Our custom claim: what the caller may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Firebase sign-in details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firebase: Option<FirebaseClaims>,
}

/// Who is calling, once their token has been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user id (`sub`), or the service account email for Google OIDC.
    pub uid: String,
    /// The caller's email, when the token carries one.
    pub email: Option<String>,
    /// What the caller may do.
    pub role: Role,
}

impl Caller {
    /// The caller named by verified claims. Tokens we issue always carry a
    /// role, so a missing one is an error rather than a default.
    pub fn from_claims(claims: &Claims) -> Result<Caller, VerifyError> {
        let role = claims.role.ok_or(VerifyError::MissingRole)?;
        Ok(Caller {
            uid: claims.sub.clone(),
            email: claims.email.clone(),
            role,
        })
    }

    /// Whether the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller has exactly this role.
    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_strings_and_json() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role}\""));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn claims_skip_missing_fields_and_accept_google_oidc_shape() {
        let google = r#"{"iss":"https://accounts.google.com","aud":"https://svc","sub":"1234",
            "iat":1,"exp":2,"email":"pusher@p.iam.gserviceaccount.com","email_verified":true,
            "azp":"1234"}"#;
        let claims: Claims = serde_json::from_str(google).unwrap();
        assert_eq!(claims.role, None);
        assert_eq!(claims.email_verified, Some(true));
        let json = serde_json::to_value(&claims).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(!keys.contains(&"role") && !keys.contains(&"firebase"));
    }

    #[test]
    fn caller_requires_a_role() {
        let mut claims: Claims = serde_json::from_str(
            r#"{"iss":"i","aud":"a","sub":"u1","iat":1,"exp":2,"role":"admin","email":"a@b.c"}"#,
        )
        .unwrap();
        let caller = Caller::from_claims(&claims).unwrap();
        assert_eq!(caller.uid, "u1");
        assert!(caller.is_admin() && caller.is(Role::Admin) && !caller.is(Role::Buyer));
        claims.role = None;
        assert!(matches!(
            Caller::from_claims(&claims),
            Err(VerifyError::MissingRole)
        ));
    }
}
