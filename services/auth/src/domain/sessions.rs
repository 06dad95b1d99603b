//! Sessions: token pairs, and rotating refresh tokens grouped in families.
//! A refresh token is used once; presenting a used one again means it was
//! stolen, and revokes its whole family.
//!
//! With Firebase Auth, Firebase holds the sessions: a refresh is its token
//! exchange, checked against the profile here, and a logout records the
//! (verified) refresh token as ended, since Firebase can only revoke all
//! of an account's sessions at once.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{Entity, Store, StoreError, Txn};
use utoipa::ToSchema;

use crate::domain::firebase::FirebaseAuth;
use crate::domain::tokens::Issuer;
use crate::domain::users::User;
use crate::error::AuthError;

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
struct NewRefreshToken {
    value: String,
    key: String,
}

impl NewRefreshToken {
    fn generate() -> Self {
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
fn refresh_key(value: &str) -> String {
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

/// A Firebase refresh token signed out of (by the SHA-256 of its value).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndedSession {
    pub uid: String,
    pub ended_at: DateTime<Utc>,
}

impl Entity for EndedSession {
    const COLLECTION: &'static str = "ended_sessions";
}

/// Sessions: a family per sign-in, its refresh tokens rotated on each use.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    issuer: Issuer,
    refresh_ttl: chrono::Duration,
    /// Firebase holds the sessions, when configured.
    firebase: Option<FirebaseAuth>,
}

/// What a refresh token was exchanged for.
enum Exchange {
    Rotated {
        user: Box<User>,
        uid: String,
        auth_time: DateTime<Utc>,
    },
    Reused,
}

impl Sessions {
    pub fn new(
        store: &Store,
        issuer: Issuer,
        refresh_ttl_days: u64,
        firebase: Option<FirebaseAuth>,
    ) -> Self {
        Self {
            store: store.clone(),
            issuer,
            refresh_ttl: chrono::Duration::days(i64::try_from(refresh_ttl_days).unwrap_or(30)),
            firebase,
        }
    }

    /// The session of a sign-in: the identity provider's, when it began
    /// one, else a new family here.
    pub async fn begin(
        &self,
        uid: &str,
        user: &User,
        provided: Option<TokenPair>,
    ) -> Result<TokenPair, AuthError> {
        match provided {
            Some(pair) => Ok(pair),
            None => self.start(uid, user).await,
        }
    }

    /// Start a new family for a fresh sign-in and answer its first pair.
    pub async fn start(&self, uid: &str, user: &User) -> Result<TokenPair, AuthError> {
        let now = common::time::now();
        let family_id = uuid::Uuid::new_v4().simple().to_string();
        let family = TokenFamily {
            uid: uid.to_owned(),
            auth_time: now,
            expires_at: now + self.refresh_ttl,
            revoked: false,
        };
        let token = NewRefreshToken::generate();
        self.store
            .transact(async |tx: &mut Txn| {
                tx.create(&family_id, &family)?;
                tx.create(
                    &token.key,
                    &RefreshToken {
                        family_id: family_id.clone(),
                        uid: uid.to_owned(),
                        created_at: now,
                        used_at: None,
                    },
                )?;
                Ok::<_, StoreError>(())
            })
            .await?;
        self.pair(uid, user, now, token.value).await
    }

    /// Exchange a refresh token for a new pair; the old one is spent. A
    /// spent one presented again revokes its family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        if let Some(firebase) = &self.firebase {
            return self.refresh_with_firebase(firebase, refresh_token).await;
        }
        let key = refresh_key(refresh_token);
        let next = NewRefreshToken::generate();
        let now = common::time::now();
        let outcome = self
            .store
            .transact(async |tx: &mut Txn| {
                let Some(token) = tx.get::<RefreshToken>(&key).await? else {
                    return Err(AuthError::InvalidRefresh);
                };
                let Some(mut family) = tx.get::<TokenFamily>(&token.value.family_id).await? else {
                    return Err(AuthError::InvalidRefresh);
                };
                if family.value.revoked || family.value.expires_at <= now {
                    return Err(AuthError::InvalidRefresh);
                }
                if token.value.used_at.is_some() {
                    family.value.revoked = true;
                    tx.update(&family)?;
                    return Ok(Exchange::Reused);
                }
                let Some(user) = tx.get::<User>(&token.value.uid).await? else {
                    return Err(AuthError::InvalidRefresh);
                };
                if user.value.disabled {
                    return Err(AuthError::Disabled);
                }
                // Signed out everywhere, or the password changed, since.
                if user
                    .value
                    .sessions_valid_after
                    .is_some_and(|after| family.value.auth_time < after)
                {
                    return Err(AuthError::InvalidRefresh);
                }
                let mut spent = token.clone();
                spent.value.used_at = Some(now);
                tx.update(&spent)?;
                tx.create(
                    &next.key,
                    &RefreshToken {
                        family_id: token.value.family_id.clone(),
                        uid: token.value.uid.clone(),
                        created_at: now,
                        used_at: None,
                    },
                )?;
                Ok(Exchange::Rotated {
                    user: Box::new(user.value),
                    uid: token.value.uid.clone(),
                    auth_time: family.value.auth_time,
                })
            })
            .await?;
        match outcome {
            Exchange::Reused => {
                tracing::warn!("a used refresh token was presented again; its family is revoked");
                Err(AuthError::RefreshReused)
            }
            Exchange::Rotated {
                user,
                uid,
                auth_time,
            } => self.pair(&uid, &user, auth_time, next.value).await,
        }
    }

    /// End the session of `refresh_token`: every token of its family stops
    /// working. An unknown token is no error.
    pub async fn end(&self, refresh_token: &str) -> Result<(), AuthError> {
        if let Some(firebase) = &self.firebase {
            return self.end_with_firebase(firebase, refresh_token).await;
        }
        let key = refresh_key(refresh_token);
        self.store
            .transact(async |tx: &mut Txn| {
                if let Some(token) = tx.get::<RefreshToken>(&key).await?
                    && let Some(mut family) = tx.get::<TokenFamily>(&token.value.family_id).await?
                    && !family.value.revoked
                {
                    family.value.revoked = true;
                    tx.update(&family)?;
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
    }

    /// Firebase's exchange, unless the token was signed out of, for an
    /// account that still has an enabled profile here.
    async fn refresh_with_firebase(
        &self,
        firebase: &FirebaseAuth,
        refresh_token: &str,
    ) -> Result<TokenPair, AuthError> {
        let key = refresh_key(refresh_token);
        let ended = self.store.collection::<EndedSession>();
        if ended.get(&key).await?.is_some() {
            return Err(AuthError::InvalidRefresh);
        }
        let session = firebase
            .refresh(refresh_token)
            .await
            .map_err(|e| match e.code() {
                Some("USER_DISABLED") => AuthError::Disabled,
                Some(
                    "TOKEN_EXPIRED"
                    | "INVALID_REFRESH_TOKEN"
                    | "USER_NOT_FOUND"
                    | "MISSING_REFRESH_TOKEN"
                    | "INVALID_GRANT_TYPE",
                ) => AuthError::InvalidRefresh,
                _ => e.into(),
            })?;
        let Some(user) = self.store.collection::<User>().get(&session.uid).await? else {
            return Err(AuthError::InvalidRefresh);
        };
        if user.value.disabled {
            return Err(AuthError::Disabled);
        }
        // Signed out everywhere, or the password changed, since this
        // session began (in Firebase's whole seconds), even if Firebase
        // missed the revocation.
        let began = crate::domain::firebase::claims_of(&session.pair.id_token)
            .and_then(|c| c.auth_time)
            .unwrap_or(i64::MIN);
        if user
            .value
            .sessions_valid_after
            .is_some_and(|after| began < after.timestamp())
        {
            return Err(AuthError::InvalidRefresh);
        }
        Ok(firebase.with_role(session, user.value.role).await?.pair)
    }

    /// Record a Firebase refresh token as ended, once Firebase has shown it
    /// is one (so anonymous logouts cannot fill the store with junk).
    async fn end_with_firebase(
        &self,
        firebase: &FirebaseAuth,
        refresh_token: &str,
    ) -> Result<(), AuthError> {
        let session = match firebase.refresh(refresh_token).await {
            Ok(session) => session,
            // Not a live session: nothing to end.
            Err(refused @ crate::domain::firebase::FirebaseError::Refused(_)) => {
                tracing::debug!(error = %refused, "logout of a token firebase refuses");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        self.store
            .collection::<EndedSession>()
            .set(
                &refresh_key(refresh_token),
                &EndedSession {
                    uid: session.uid,
                    ended_at: common::time::now(),
                },
            )
            .await?;
        Ok(())
    }

    async fn pair(
        &self,
        uid: &str,
        user: &User,
        auth_time: DateTime<Utc>,
        refresh_token: String,
    ) -> Result<TokenPair, AuthError> {
        Ok(TokenPair {
            id_token: self.issuer.id_token(uid, user, auth_time).await?,
            refresh_token,
            expires_in: self.issuer.id_token_ttl_secs(),
        })
    }
}
