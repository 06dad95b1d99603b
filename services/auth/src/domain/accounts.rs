//! Accounts: sign-up (checked, hashed, and stored with its email claim and
//! `user.registered` in one transaction), password sign-in behind the
//! per-address throttle, the bootstrap admin, profile edits and role
//! changes.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::error::Validator;
use common::identity::{Authenticator, Role};
use events::Publisher;
use events::v1::{UserLoginAttacked, UserRegistered, UserTokensRevoked};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use store::{Collection, Direction, Entity, IndexSpec, Store, StoreError, Txn, Version, Versioned};

use crate::config::Settings;
use crate::domain::credentials::{
    Email, FAILING, LoginThrottle, PASSWORD_MAX_CHARS, PasswordHasherPool, ThrottlePolicy,
    check_password,
};
use crate::domain::firebase::{FirebaseAuth, FirebaseError};
use crate::domain::sessions::{TokenPair, forget_ended_sessions};
use crate::domain::users::{EmailClaim, Profile, ProfilePatch, User, check_languages};
use crate::error::AuthError;

/// A sign-up, before it is checked.
pub struct NewAccount {
    pub email: String,
    pub password: SecretString,
    pub display_name: String,
    /// `artisan` or `buyer`; `admin` only when an admin signs someone up.
    pub role: Role,
    pub region: Option<String>,
    pub languages: Vec<String>,
}

impl NewAccount {
    /// The normalised email, or 422 naming every invalid field. Only an
    /// admin (`by_admin`) may create an admin; nobody a service identity.
    fn check(&self, by_admin: bool) -> Result<Email, AuthError> {
        let mut v = Validator::new();
        let email = match Email::parse(&self.email) {
            Ok(email) => Some(email),
            Err(reason) => {
                v.check(false, "email", "invalid", reason);
                None
            }
        };
        check_password(
            &mut v,
            "password",
            self.password.expose_secret(),
            email.as_ref(),
        );
        v.length("display_name", &self.display_name, 1, 80);
        if let Some(region) = &self.region {
            v.length("region", region, 1, 80);
        }
        check_languages(&mut v, &self.languages);
        match self.role {
            Role::Artisan | Role::Buyer => {}
            Role::Admin => {
                v.check(
                    by_admin,
                    "role",
                    "forbidden_role",
                    "only an admin can create an admin account",
                );
            }
            Role::Service => {
                v.check(
                    false,
                    "role",
                    "forbidden_role",
                    "service identities are not accounts",
                );
            }
        }
        v.finish()?;
        // An invalid email was recorded above, so `finish` failed already.
        Ok(email.ok_or_else(|| anyhow::anyhow!("an invalid email passed validation"))?)
    }
}

/// The accounts and what guards their sign-in.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    users: Collection<User>,
    emails: Collection<EmailClaim>,
    hasher: PasswordHasherPool,
    publisher: Publisher,
    throttle_policy: ThrottlePolicy,
    /// This service's own authenticator: a revocation takes effect in it at
    /// once.
    auth: Arc<Authenticator>,
    /// Firebase Auth holds the passwords and sessions, when configured.
    firebase: Option<FirebaseAuth>,
}

/// An account that proved its password, and the session the identity
/// provider began for it (`None`: this service begins one).
pub struct SignedIn {
    pub account: Versioned<User>,
    pub session: Option<TokenPair>,
}

impl Accounts {
    pub fn new(
        store: &Store,
        publisher: Publisher,
        settings: &Settings,
        auth: Arc<Authenticator>,
        firebase: Option<FirebaseAuth>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            store: store.clone(),
            users: store.collection(),
            emails: store.collection(),
            hasher: PasswordHasherPool::new(
                settings.argon2_memory_kib,
                settings.argon2_iterations,
            )?,
            publisher,
            throttle_policy: ThrottlePolicy {
                threshold: settings.lockout_threshold,
                half_life: Duration::from_secs(settings.lockout_half_life_secs),
                max_delay: Duration::from_secs(settings.max_lockout_secs),
                alert_at: settings.attack_alert_failures,
            },
            auth,
            firebase,
        })
    }

    /// Check and create an account; answers its new uid, the user and,
    /// with Firebase, the session Firebase began (its ID token carrying the
    /// role).
    pub async fn sign_up(
        &self,
        new: NewAccount,
        by_admin: bool,
    ) -> Result<(String, User, Option<TokenPair>), AuthError> {
        let email = new.check(by_admin)?;
        let mut user = User {
            email: email.as_str().to_owned(),
            display_name: new.display_name.trim().to_owned(),
            role: new.role,
            password_hash: String::new(),
            profile: Profile {
                region: new.region.map(|r| r.trim().to_owned()),
                languages: new.languages,
                ..Profile::default()
            },
            created_at: common::time::now(),
            disabled: false,
            tokens_valid_after: None,
            sessions_valid_after: None,
        };
        if let Some(firebase) = &self.firebase {
            let (uid, session) = self
                .sign_up_with_firebase(firebase, &email, &new.password, &user)
                .await?;
            tracing::info!(uid, role = %user.role, "account created in firebase");
            return Ok((uid, user, Some(session)));
        }
        user.password_hash = self.hasher.hash(new.password).await?;
        let uid = new_uid();
        self.create(&uid, &email, &user).await?;
        tracing::info!(uid, role = %user.role, "account created");
        Ok((uid, user, None))
    }

    /// The Firebase account first (it decides whether the address is
    /// free), then its role claim and the profile here; if those fail, the
    /// Firebase account is deleted again. An address Firebase has but no
    /// profile here holds (a sign-up whose undoing failed too) is taken
    /// over by whoever knows its password. The answer is a session begun
    /// after the claim was set.
    async fn sign_up_with_firebase(
        &self,
        firebase: &FirebaseAuth,
        email: &Email,
        password: &SecretString,
        user: &User,
    ) -> Result<(String, TokenPair), AuthError> {
        let uid = match firebase.create_account(email.as_str(), password).await {
            Ok(uid) => uid,
            Err(e) if e.code() == Some("EMAIL_EXISTS") => {
                return self.adopt(firebase, email, password, user).await;
            }
            Err(e) => return Err(sign_up_refusal(e)),
        };
        let stored = async {
            firebase.set_role(&uid, user.role).await?;
            self.create(&uid, email, user).await
        };
        if let Err(e) = stored.await {
            if let Err(undo) = firebase.delete(&uid).await {
                tracing::error!(uid, error = %undo, "a half-made firebase account was not deleted");
            }
            return Err(e);
        }
        // The account exists from here: a failed sign-in leaves it for a
        // login.
        let session = firebase.sign_in(email.as_str(), password).await?;
        Ok((uid, session.pair))
    }

    /// A sign-up of an address Firebase already has: taken, unless no
    /// profile here holds it and the password signs in to it.
    async fn adopt(
        &self,
        firebase: &FirebaseAuth,
        email: &Email,
        password: &SecretString,
        user: &User,
    ) -> Result<(String, TokenPair), AuthError> {
        if self.emails.get(&email.claim_id()).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let Ok(session) = firebase.sign_in(email.as_str(), password).await else {
            return Err(AuthError::EmailTaken);
        };
        firebase.set_role(&session.uid, user.role).await?;
        self.create(&session.uid, email, user).await?;
        tracing::warn!(
            uid = session.uid,
            "a firebase account without a profile was taken over by its password"
        );
        let session = firebase.with_role(session, user.role).await?;
        Ok((session.uid, session.pair))
    }

    /// Create the admin account `email` if no account has that address.
    pub async fn bootstrap_admin(
        &self,
        email: &str,
        password: &SecretString,
    ) -> anyhow::Result<()> {
        let email =
            Email::parse(email).map_err(|e| anyhow::anyhow!("bootstrap_admin_email {e}"))?;
        if let Some(firebase) = &self.firebase {
            return self
                .bootstrap_firebase_admin(firebase, &email, password)
                .await;
        }
        let user = User {
            email: email.as_str().to_owned(),
            display_name: "Administrator".to_owned(),
            role: Role::Admin,
            password_hash: self
                .hasher
                .hash(password.expose_secret().to_owned().into())
                .await?,
            profile: Profile::default(),
            created_at: common::time::now(),
            disabled: false,
            tokens_valid_after: None,
            sessions_valid_after: None,
        };
        let uid = new_uid();
        match self.create(&uid, &email, &user).await {
            Ok(()) => tracing::info!(uid, "bootstrap admin created"),
            Err(AuthError::EmailTaken) => {}
            Err(e) => return Err(anyhow::anyhow!("creating the bootstrap admin: {e}")),
        }
        Ok(())
    }

    /// With Firebase: nothing when a profile here has the address (the
    /// profile decides the account's role from then on); else the admin's
    /// Firebase account (created, or signed in to if it exists), its
    /// `admin` claim and its profile here. Firebase out of reach is logged,
    /// not fatal: the next start tries again.
    async fn bootstrap_firebase_admin(
        &self,
        firebase: &FirebaseAuth,
        email: &Email,
        password: &SecretString,
    ) -> anyhow::Result<()> {
        if self.emails.get(&email.claim_id()).await?.is_some() {
            return Ok(());
        }
        let user = User {
            email: email.as_str().to_owned(),
            display_name: "Administrator".to_owned(),
            role: Role::Admin,
            password_hash: String::new(),
            profile: Profile::default(),
            created_at: common::time::now(),
            disabled: false,
            tokens_valid_after: None,
            sessions_valid_after: None,
        };
        let made = async {
            let uid = match firebase.create_account(email.as_str(), password).await {
                Ok(uid) => uid,
                Err(e) if e.code() == Some("EMAIL_EXISTS") => {
                    firebase.sign_in(email.as_str(), password).await?.uid
                }
                Err(e) => return Err(AuthError::from(e)),
            };
            firebase.set_role(&uid, Role::Admin).await?;
            self.create(&uid, email, &user).await?;
            Ok(uid)
        };
        match made.await {
            Ok(uid) => tracing::info!(uid, "bootstrap admin created in firebase"),
            Err(AuthError::EmailTaken) => {}
            Err(e) => tracing::error!(
                error = ?e,
                "the bootstrap admin could not be made in firebase; the next start tries again"
            ),
        }
        Ok(())
    }

    /// Store the user, its email claim and `user.registered` in one
    /// transaction.
    async fn create(&self, uid: &str, email: &Email, user: &User) -> Result<(), AuthError> {
        let claim = email.claim_id();
        let result = self
            .store
            .transact(async |tx: &mut Txn| {
                tx.create(
                    &claim,
                    &EmailClaim {
                        uid: uid.to_owned(),
                    },
                )?;
                tx.create(uid, user)?;
                self.publisher.emit(
                    tx,
                    uid,
                    &UserRegistered {
                        user_id: uid.to_owned(),
                        email: user.email.clone(),
                        display_name: user.display_name.clone(),
                        role: user.role.to_string(),
                        languages: user.profile.languages.clone(),
                        region: user.profile.region.clone().unwrap_or_default(),
                    },
                )?;
                Ok::<_, StoreError>(())
            })
            .await;
        match result {
            Err(StoreError::AlreadyExists { collection, .. }) if collection == "emails" => {
                Err(AuthError::EmailTaken)
            }
            other => Ok(other?),
        }
    }

    /// The account `email` / `password` signs in to, for a request from
    /// `client`. Every failure reads the same and costs the same time. The
    /// attempt is counted against the account and against (account,
    /// client) before the password is checked — atomically with the check
    /// of their delays — and given back when the password was right. A
    /// client waits out its own pair's delay, and the account's only once
    /// it has been failing itself: the owner, signing in from a client that
    /// has not been failing, is never kept out by someone else's guesses.
    pub async fn authenticate(
        &self,
        email: &str,
        password: SecretString,
        client: IpAddr,
    ) -> Result<SignedIn, AuthError> {
        // A password no account can have fails at once, unhashed (its
        // length tells nothing about any account); an address that cannot
        // exist fails like a wrong password, in the same time.
        if password.expose_secret().len() > 4 * PASSWORD_MAX_CHARS {
            return Err(AuthError::InvalidCredentials);
        }
        let Ok(email) = Email::parse(email) else {
            let _ = self.hasher.verify(password, None).await?;
            return Err(AuthError::InvalidCredentials);
        };
        let account = match self.emails.get(&email.claim_id()).await? {
            Some(claim) => self.users.get(&claim.value.uid).await?,
            None => None,
        };
        let keys = (
            LoginThrottle::account_key(&email),
            LoginThrottle::pair_key(&email, client),
        );
        self.reserve(&keys, account.as_ref().map(|a| a.id.as_str()), client)
            .await?;
        if let Some(firebase) = &self.firebase {
            return self
                .sign_in_with_firebase(firebase, &keys, &email, &password)
                .await;
        }
        // An account whose password Firebase held has no hash here.
        let hash = account
            .as_ref()
            .map(|a| a.value.password_hash.clone())
            .filter(|hash| !hash.is_empty());
        let ok = self.hasher.verify(password, hash).await?;
        match account {
            Some(account) if ok => {
                self.give_back(&keys, Forgive::Pair).await?;
                if account.value.disabled {
                    return Err(AuthError::Disabled);
                }
                Ok(SignedIn {
                    account,
                    session: None,
                })
            }
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// The password checked by Firebase (the attempt already counted):
    /// a right one is given back as above, an outage is given back without
    /// forgiving anything, a wrong one stays counted.
    async fn sign_in_with_firebase(
        &self,
        firebase: &FirebaseAuth,
        keys: &(String, String),
        email: &Email,
        password: &SecretString,
    ) -> Result<SignedIn, AuthError> {
        let session = match firebase.sign_in(email.as_str(), password).await {
            Ok(session) => session,
            Err(FirebaseError::Unavailable(why)) => {
                self.give_back(keys, Forgive::Nothing).await?;
                return Err(AuthError::ProviderUnavailable(why));
            }
            Err(refused) => {
                return Err(match refused.code() {
                    Some("USER_DISABLED") => AuthError::Disabled,
                    Some("TOO_MANY_ATTEMPTS_TRY_LATER") => {
                        AuthError::Throttled(Duration::from_secs(60))
                    }
                    Some(
                        "EMAIL_NOT_FOUND"
                        | "INVALID_PASSWORD"
                        | "INVALID_LOGIN_CREDENTIALS"
                        | "INVALID_EMAIL"
                        | "MISSING_PASSWORD",
                    ) => AuthError::InvalidCredentials,
                    _ => refused.into(),
                });
            }
        };
        self.give_back(keys, Forgive::Pair).await?;
        let Some(account) = self.users.get(&session.uid).await? else {
            // Made in Firebase by other means than this service's sign-up.
            tracing::warn!(uid = session.uid, "a firebase account has no profile here");
            return Err(AuthError::InvalidCredentials);
        };
        if account.value.disabled {
            return Err(AuthError::Disabled);
        }
        let session = firebase.with_role(session, account.value.role).await?;
        Ok(SignedIn {
            account,
            session: Some(session.pair),
        })
    }

    /// Check the delays of the account and of the pair and count this
    /// attempt against both, in one transaction; past the alert level,
    /// tell the owner (once an hour).
    async fn reserve(
        &self,
        (account_key, pair_key): &(String, String),
        uid: Option<&str>,
        client: IpAddr,
    ) -> Result<(), AuthError> {
        let policy = self.throttle_policy;
        let now = Utc::now();
        self.store
            .transact(async |tx: &mut Txn| {
                let mut account = tx
                    .get::<LoginThrottle>(account_key)
                    .await?
                    .map(|v| v.value)
                    .unwrap_or_default();
                let mut pair = tx
                    .get::<LoginThrottle>(pair_key)
                    .await?
                    .map(|v| v.value)
                    .unwrap_or_default();
                if let Some(wait) = pair.wait(now) {
                    return Err(AuthError::Throttled(wait));
                }
                if pair.score_at(now, &policy) >= FAILING
                    && let Some(wait) = account.wait(now)
                {
                    return Err(AuthError::Throttled(wait));
                }
                account.add(now, 1.0, &policy);
                pair.add(now, 1.0, &policy);
                let alert_due = account
                    .alerted_at
                    .is_none_or(|at| now - at >= chrono::Duration::hours(1));
                if let Some(uid) = uid
                    && account.score_at(now, &policy).round() >= f64::from(policy.alert_at)
                    && alert_due
                {
                    account.alerted_at = Some(now);
                    // The score is a count of attempts, far below u32::MAX.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let failures = account.score_at(now, &policy).round() as u32;
                    self.publisher.emit(
                        tx,
                        uid,
                        &UserLoginAttacked {
                            user_id: uid.to_owned(),
                            failures,
                            last_client_address: client.to_string(),
                        },
                    )?;
                    tracing::warn!(uid, failures, "account under a password-guessing attack");
                }
                tx.set(account_key, &account)?;
                tx.set(pair_key, &pair)?;
                Ok::<_, AuthError>(())
            })
            .await
    }

    /// An attempt that was no failed guess is given back to the account;
    /// after a right password the pair's failures are forgotten too, after
    /// a provider outage only this attempt is given back to the pair.
    async fn give_back(
        &self,
        (account_key, pair_key): &(String, String),
        forgive: Forgive,
    ) -> Result<(), AuthError> {
        let policy = self.throttle_policy;
        let now = Utc::now();
        self.store
            .transact(async |tx: &mut Txn| {
                if let Some(mut account) = tx.get::<LoginThrottle>(account_key).await? {
                    account.value.add(now, -1.0, &policy);
                    if account.value.is_spent(now, &policy) && account.value.alerted_at.is_none() {
                        tx.delete::<LoginThrottle>(account_key)?;
                    } else {
                        tx.update(&account)?;
                    }
                }
                if let Some(mut pair) = tx.get::<LoginThrottle>(pair_key).await? {
                    match forgive {
                        Forgive::Pair => tx.delete::<LoginThrottle>(pair_key)?,
                        Forgive::Nothing => {
                            pair.value.add(now, -1.0, &policy);
                            tx.update(&pair)?;
                        }
                    }
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
    }

    /// One page of the enabled accounts matching `filter`, oldest first:
    /// roles, regions and crafts each match any of their values (`In`);
    /// languages are checked on the page read, so a page may hold fewer
    /// than `limit` (it never reads more).
    pub async fn directory(
        &self,
        filter: &Directory,
        limit: usize,
        cursor: Option<store::Cursor>,
    ) -> Result<(Vec<Versioned<User>>, Option<store::Cursor>), AuthError> {
        let mut q = store::Query::new();
        for (field, values) in [
            ("role", &filter.roles),
            ("profile.region", &filter.regions),
            ("profile.craft", &filter.crafts),
        ] {
            if !values.is_empty() {
                q = q.filter(field, store::Op::In, serde_json::json!(values));
            }
        }
        let q = q
            .order_by("created_at", store::Direction::Asc)
            .limit(limit)
            .after(cursor);
        let (page, next) = self.users.query(&q).await?;
        let users = page
            .into_iter()
            .filter(|u| !u.value.disabled)
            .filter(|u| {
                filter.languages.is_empty()
                    || u.value
                        .profile
                        .languages
                        .iter()
                        .any(|l| filter.languages.contains(l))
            })
            .collect();
        Ok((users, next))
    }

    /// The account `uid`.
    pub async fn get(&self, uid: &str) -> Result<Versioned<User>, AuthError> {
        self.users
            .get(uid)
            .await?
            .ok_or_else(|| AuthError::UserNotFound(uid.to_owned()))
    }

    /// Apply `patch` to the account `uid`, if it is still at `expected`
    /// (when given).
    pub async fn edit_profile(
        &self,
        uid: &str,
        expected: Option<Version>,
        patch: ProfilePatch,
    ) -> Result<Versioned<User>, AuthError> {
        let mut user = self.get(uid).await?;
        if expected.is_some_and(|v| v != user.version) {
            return Err(AuthError::StaleProfile);
        }
        patch.apply(&mut user.value)?;
        match self.users.update(&user.id, &user.value, user.version).await {
            Ok(saved) => Ok(saved),
            Err(StoreError::Conflict { .. }) => Err(AuthError::ProfileChangedMeanwhile),
            Err(e) => Err(e.into()),
        }
    }

    /// Give the account `uid` the role `role`, on behalf of the admin `by`.
    /// Its ID tokens carrying the old role are revoked: it signs in again,
    /// or refreshes, to act with the new one.
    pub async fn set_role(
        &self,
        by: &str,
        uid: &str,
        role: Role,
    ) -> Result<Versioned<User>, AuthError> {
        Validator::new()
            .check(
                role != Role::Service,
                "role",
                "forbidden_role",
                "service identities are not accounts",
            )
            .finish()?;
        if uid == by && role != Role::Admin {
            return Err(AuthError::SelfDemotion);
        }
        // Firebase first: if it fails, nothing changed and the admin tries
        // again; once the claim is set, the revocation below voids every
        // token minted with the old one.
        if let Some(firebase) = &self.firebase {
            self.get(uid).await?;
            firebase.set_role(uid, role).await?;
        }
        let saved = self
            .change(uid, Some(Revocation::RoleChanged), |user| {
                let changed = user.role != role;
                user.role = role;
                Ok(changed)
            })
            .await?;
        tracing::info!(uid, %role, by, "role changed");
        Ok(saved)
    }

    /// A page of the revocations still in force (younger than any token
    /// they could void), oldest first.
    pub async fn revocations(
        &self,
        params: &common::PageParams,
    ) -> Result<common::Page<common::identity::RevocationTime>, AuthError> {
        let cursor = params
            .cursor
            .as_deref()
            .map(store::Cursor::parse)
            .transpose()
            .map_err(|_| common::pagination::invalid_cursor())?;
        let since = common::time::now().timestamp() - common::identity::REMEMBER_SECS;
        let query = store::Query::new()
            .filter("valid_after", store::Op::Gt, since)
            .order_by("valid_after", Direction::Asc)
            .limit(params.limit()?)
            .after(cursor);
        let (items, next) = self
            .store
            .collection::<Revoked>()
            .query(&query)
            .await
            .map_err(|e| match e {
                StoreError::InvalidCursor => AuthError::from(common::pagination::invalid_cursor()),
                other => other.into(),
            })?;
        Ok(common::Page::new(
            items
                .into_iter()
                .map(|r| common::identity::RevocationTime {
                    user_id: r.id,
                    valid_after: r.value.valid_after,
                })
                .collect(),
            next.map(|c| c.to_string()),
        ))
    }

    /// Disable (or enable again) the account `uid`, on behalf of the admin
    /// `by`. Disabling revokes its tokens and sessions.
    pub async fn set_disabled(
        &self,
        by: &str,
        uid: &str,
        disabled: bool,
    ) -> Result<Versioned<User>, AuthError> {
        if uid == by && disabled {
            return Err(AuthError::SelfDemotion);
        }
        let revocation = disabled.then_some(Revocation::Disabled);
        if let Some(firebase) = &self.firebase {
            self.get(uid).await?;
            firebase.set_disabled(uid, disabled).await?;
        }
        let saved = self
            .change(uid, revocation, |user| {
                let changed = user.disabled != disabled;
                user.disabled = disabled;
                Ok(changed)
            })
            .await?;
        tracing::info!(uid, disabled, by, "account status changed");
        Ok(saved)
    }

    /// Sign the account `uid` out everywhere: every session and ID token
    /// it holds stops working.
    pub async fn sign_out_everywhere(&self, uid: &str) -> Result<(), AuthError> {
        if let Some(firebase) = &self.firebase {
            firebase.revoke_sessions(uid).await?;
        }
        self.change(uid, Some(Revocation::SignedOutEverywhere), |_| Ok(true))
            .await?;
        Ok(())
    }

    /// Change the password of the account `uid` (which proved the current
    /// one): its other sessions and ID tokens stop working. With Firebase,
    /// they are revoked here first, so that a failure afterwards leaves
    /// the account signed out with its old password (safe, and the change
    /// can be asked again), and the answer holds the session Firebase
    /// begins with the new one.
    pub async fn change_password(
        &self,
        uid: &str,
        new_password: SecretString,
    ) -> Result<(Versioned<User>, Option<TokenPair>), AuthError> {
        let user = self.get(uid).await?;
        let email = Email::parse(&user.value.email).ok();
        let mut v = Validator::new();
        check_password(
            &mut v,
            "new_password",
            new_password.expose_secret(),
            email.as_ref(),
        );
        v.finish()?;
        if let Some(firebase) = &self.firebase {
            let saved = self
                .change(uid, Some(Revocation::PasswordChanged), |_| Ok(true))
                .await?;
            firebase.set_password(uid, &new_password).await?;
            let session = firebase.sign_in(&saved.value.email, &new_password).await?;
            let session = firebase.with_role(session, saved.value.role).await?;
            return Ok((saved, Some(session.pair)));
        }
        let hash = self.hasher.hash(new_password).await?;
        let saved = self
            .change(uid, Some(Revocation::PasswordChanged), move |user| {
                user.password_hash = hash.clone();
                Ok(true)
            })
            .await?;
        Ok((saved, None))
    }

    /// Apply `edit` to the account `uid` in one transaction with, when
    /// given and `edit` changed something, the revocation of its tokens
    /// (and `user.tokens_revoked`). The
    /// revocation takes effect here at once and at every other service as
    /// the event arrives.
    async fn change(
        &self,
        uid: &str,
        revocation: Option<Revocation>,
        edit: impl Fn(&mut User) -> Result<bool, AuthError> + Send + Sync,
    ) -> Result<Versioned<User>, AuthError> {
        let now = common::time::now();
        let revoked = self
            .store
            .transact(async |tx: &mut Txn| {
                let Some(mut user) = tx.get::<User>(uid).await? else {
                    return Err(AuthError::UserNotFound(uid.to_owned()));
                };
                // Asking for what already is changes nothing, and revokes
                // nothing (an admin setting their own role again keeps
                // their session).
                if !edit(&mut user.value)? {
                    return Ok(None);
                }
                if let Some(revocation) = revocation {
                    user.value.tokens_valid_after = Some(now);
                    if revocation.ends_sessions() {
                        user.value.sessions_valid_after = Some(now);
                    }
                    tx.set(
                        uid,
                        &Revoked {
                            valid_after: now.timestamp(),
                        },
                    )?;
                    self.publisher.emit(
                        tx,
                        uid,
                        &UserTokensRevoked {
                            user_id: uid.to_owned(),
                            valid_after: now.timestamp(),
                            reason: revocation.reason().to_owned(),
                        },
                    )?;
                }
                tx.update(&user)?;
                Ok::<_, AuthError>(revocation)
            })
            .await?;
        if let Some(revocation) = revoked {
            self.auth
                .revocations()
                .record(uid, now.timestamp(), now.timestamp());
            tracing::info!(uid, reason = revocation.reason(), "tokens revoked");
            if revocation.ends_sessions() && self.firebase.is_some() {
                // Kept ones do no harm: the next sign-out lets them go.
                match forget_ended_sessions(&self.store, uid, now).await {
                    Ok(n) => tracing::debug!(uid, n, "ended sessions forgotten"),
                    Err(e) => tracing::warn!(uid, error = %e, "ended sessions kept"),
                }
            }
        }
        self.get(uid).await
    }
}

/// What a refused Firebase sign-up means to the caller.
fn sign_up_refusal(e: FirebaseError) -> AuthError {
    match e.code() {
        Some("WEAK_PASSWORD") => common::ApiError::invalid_field(
            "password",
            "weak",
            "is too weak for the identity provider",
        )
        .into(),
        Some("INVALID_EMAIL") => common::ApiError::invalid_field(
            "email",
            "invalid",
            "is not an address the identity provider accepts",
        )
        .into(),
        Some("TOO_MANY_ATTEMPTS_TRY_LATER" | "QUOTA_EXCEEDED") => {
            AuthError::ProviderUnavailable(e.to_string())
        }
        _ => e.into(),
    }
}

/// What a given-back attempt forgives besides itself.
#[derive(Debug, Clone, Copy)]
enum Forgive {
    /// The pair's failures: the password was right.
    Pair,
    /// Nothing: the password was never checked.
    Nothing,
}

/// A user's latest "tokens valid after" time (Unix seconds), kept beside
/// the account so that a service starting up can learn every revocation
/// still in force (`GET /auth/revocations`): the event alone reaches only
/// the services running when it was sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revoked {
    pub valid_after: i64,
}

impl Entity for Revoked {
    const COLLECTION: &'static str = "revocations";
}

/// The directory's queries: each combination of its `In` filters (role,
/// region, craft), oldest account first.
pub fn directory_indexes() -> Vec<IndexSpec> {
    let filters = ["role", "profile.region", "profile.craft"];
    (1..1u8 << filters.len())
        .map(|mask| {
            let mut fields: Vec<(&str, Direction)> = filters
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, f)| (*f, Direction::Asc))
                .collect();
            fields.push(("created_at", Direction::Asc));
            IndexSpec::new(User::COLLECTION, &fields)
        })
        .collect()
}

/// The index `GET /auth/revocations` reads by.
pub fn revocation_indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        Revoked::COLLECTION,
        &[("valid_after", Direction::Asc)],
    )]
}

/// Why an account's tokens are revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Disabled,
    RoleChanged,
    SignedOutEverywhere,
    PasswordChanged,
}

impl Revocation {
    pub fn reason(self) -> &'static str {
        match self {
            Revocation::Disabled => "disabled",
            Revocation::RoleChanged => "role_changed",
            Revocation::SignedOutEverywhere => "signed_out_everywhere",
            Revocation::PasswordChanged => "password_changed",
        }
    }

    /// Whether refresh tokens stop working too (all but a role change,
    /// after which a refresh is how the new role is picked up).
    pub fn ends_sessions(self) -> bool {
        self != Revocation::RoleChanged
    }
}

/// A new account id: 32 random hex digits.
fn new_uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Who a directory page is about (each list: any of its values; empty:
/// anyone).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub roles: Vec<String>,
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub crafts: Vec<String>,
}
