//! Sessions: token pairs, and rotating refresh tokens grouped in families.
//! A refresh token is used once; presenting a used one again means it was
//! stolen, and revokes its whole family.
//!
//! With Firebase Auth, Firebase holds the sessions: a refresh is its token
//! exchange, checked against the profile here, and a logout records the
//! (verified) refresh token as ended, since Firebase can only revoke all
//! of an account's sessions at once. The records of an account are
//! forgotten when it is signed out everywhere (each then began before the
//! revocation, which refuses it anyway), and an account that has
//! [`MAX_ENDED_SESSIONS`] on record is signed out everywhere at its next
//! logout, so that logging in and out cannot fill the store.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{Entity, IndexSpec, Query, Store, StoreError, Txn};
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

/// The most ended Firebase sessions an account keeps on record: at the
/// next logout it is signed out everywhere instead, and they are forgotten.
pub const MAX_ENDED_SESSIONS: usize = 50;

/// The queries of ended sessions: an account's.
pub fn ended_session_indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        EndedSession::COLLECTION,
        &[("uid", store::Direction::Asc)],
    )]
}

/// The ended sessions of `uid` on record, up to `max`.
async fn ended_sessions(
    store: &Store,
    uid: &str,
    max: usize,
) -> Result<Vec<store::Versioned<EndedSession>>, StoreError> {
    store
        .collection::<EndedSession>()
        .query_up_to(&Query::new().eq("uid", uid), max)
        .await
}

/// Forget the ended sessions of `uid` that ended in a second before
/// `signed_out_at`, when the account was signed out everywhere: each began
/// before then, so a refresh of it is refused by the account's
/// `sessions_valid_after` already (compared in whole seconds, so one ended
/// in the same second is kept). Answers how many were forgotten.
pub async fn forget_ended_sessions(
    store: &Store,
    uid: &str,
    signed_out_at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    // Logouts racing the cap can leave a few more than the maximum.
    let moot: Vec<String> = ended_sessions(store, uid, 2 * MAX_ENDED_SESSIONS)
        .await?
        .into_iter()
        .filter(|e| e.value.ended_at.timestamp() < signed_out_at.timestamp())
        .map(|e| e.id)
        .collect();
    if moot.is_empty() {
        return Ok(0);
    }
    store
        .transact(async |tx: &mut Txn| {
            for id in &moot {
                tx.delete::<EndedSession>(id)?;
            }
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(moot.len())
}

/// What a logout leaves to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Ended {
    /// The session is over.
    Done,
    /// The Firebase account `uid` has [`MAX_ENDED_SESSIONS`] on record:
    /// sign it out everywhere to end this one.
    SignOutEverywhere(String),
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
    pub async fn end(&self, refresh_token: &str) -> Result<Ended, AuthError> {
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
        Ok(Ended::Done)
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
    /// is one (so anonymous logouts cannot fill the store with junk), unless
    /// its account has the most on record already.
    async fn end_with_firebase(
        &self,
        firebase: &FirebaseAuth,
        refresh_token: &str,
    ) -> Result<Ended, AuthError> {
        let session = match firebase.refresh(refresh_token).await {
            Ok(session) => session,
            // Not a live session: nothing to end.
            Err(refused @ crate::domain::firebase::FirebaseError::Refused(_)) => {
                tracing::debug!(error = %refused, "logout of a token firebase refuses");
                return Ok(Ended::Done);
            }
            Err(e) => return Err(e.into()),
        };
        let key = refresh_key(refresh_token);
        let on_record = ended_sessions(&self.store, &session.uid, MAX_ENDED_SESSIONS).await?;
        if on_record.iter().any(|e| e.id == key) {
            return Ok(Ended::Done);
        }
        // Recorded at the cap too: a session begun in the same second as
        // the sign-out everywhere that follows would outlive it (both count
        // whole seconds), and that second's records are kept.
        self.store
            .collection::<EndedSession>()
            .set(
                &key,
                &EndedSession {
                    uid: session.uid.clone(),
                    ended_at: common::time::now(),
                },
            )
            .await?;
        if on_record.len() >= MAX_ENDED_SESSIONS {
            return Ok(Ended::SignOutEverywhere(session.uid));
        }
        Ok(Ended::Done)
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
