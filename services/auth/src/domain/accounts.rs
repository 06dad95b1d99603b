//! Accounts: sign-up (checked, hashed, and stored with its email claim and
//! `user.registered` in one transaction), password sign-in behind the
//! per-address throttle, the bootstrap admin, profile edits and role
//! changes.

use std::time::Duration;

use chrono::Utc;
use common::error::Validator;
use common::identity::Role;
use events::Publisher;
use events::v1::UserRegistered;
use secrecy::{ExposeSecret, SecretString};
use store::{Collection, Store, StoreError, Txn, Version, Versioned};

use crate::config::Settings;
use crate::domain::credentials::{Email, LoginThrottle, PasswordHasherPool, check_password};
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
    throttle: Collection<LoginThrottle>,
    hasher: PasswordHasherPool,
    publisher: Publisher,
    lockout_threshold: u32,
    max_lockout: Duration,
}

impl Accounts {
    pub fn new(store: &Store, publisher: Publisher, settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            store: store.clone(),
            users: store.collection(),
            emails: store.collection(),
            throttle: store.collection(),
            hasher: PasswordHasherPool::new(
                settings.argon2_memory_kib,
                settings.argon2_iterations,
            )?,
            publisher,
            lockout_threshold: settings.lockout_threshold,
            max_lockout: Duration::from_secs(settings.max_lockout_secs),
        })
    }

    /// Check and create an account; answers its new uid and the user.
    pub async fn sign_up(
        &self,
        new: NewAccount,
        by_admin: bool,
    ) -> Result<(String, User), AuthError> {
        let email = new.check(by_admin)?;
        let user = User {
            email: email.as_str().to_owned(),
            display_name: new.display_name.trim().to_owned(),
            role: new.role,
            password_hash: self.hasher.hash(new.password).await?,
            profile: Profile {
                region: new.region.map(|r| r.trim().to_owned()),
                languages: new.languages,
                ..Profile::default()
            },
            created_at: common::time::now(),
            disabled: false,
        };
        let uid = new_uid();
        self.create(&uid, &email, &user).await?;
        tracing::info!(uid, role = %user.role, "account created");
        Ok((uid, user))
    }

    /// Create the admin account `email` if no account has that address.
    pub async fn bootstrap_admin(
        &self,
        email: &str,
        password: &SecretString,
    ) -> anyhow::Result<()> {
        let email =
            Email::parse(email).map_err(|e| anyhow::anyhow!("bootstrap_admin_email {e}"))?;
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
        };
        let uid = new_uid();
        match self.create(&uid, &email, &user).await {
            Ok(()) => tracing::info!(uid, "bootstrap admin created"),
            Err(AuthError::EmailTaken) => {}
            Err(e) => return Err(anyhow::anyhow!("creating the bootstrap admin: {e}")),
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

    /// The account `email` / `password` signs in to. Every failure reads
    /// the same and costs the same time; past the lockout threshold the
    /// address waits, whatever the password.
    pub async fn authenticate(
        &self,
        email: &str,
        password: SecretString,
    ) -> Result<Versioned<User>, AuthError> {
        // An address that cannot exist fails like a wrong password.
        let Ok(email) = Email::parse(email) else {
            let _ = self.hasher.verify(password, None).await?;
            return Err(AuthError::InvalidCredentials);
        };
        let throttle_key = email.key();
        let throttle = self.throttle.get(&throttle_key).await?;
        if let Some(wait) = throttle.as_ref().and_then(|t| t.value.wait(Utc::now())) {
            return Err(AuthError::Throttled(wait));
        }
        let account = match self.emails.get(&email.claim_id()).await? {
            Some(claim) => self.users.get(&claim.value.uid).await?,
            None => None,
        };
        let hash = account.as_ref().map(|a| a.value.password_hash.clone());
        let ok = self.hasher.verify(password, hash).await?;
        match account {
            Some(account) if ok => {
                if account.value.disabled {
                    return Err(AuthError::Disabled);
                }
                if throttle.is_some() {
                    self.throttle.delete(&throttle_key, None).await?;
                }
                Ok(account)
            }
            _ => {
                self.record_failure(&throttle_key).await?;
                Err(AuthError::InvalidCredentials)
            }
        }
    }

    async fn record_failure(&self, key: &str) -> Result<(), AuthError> {
        self.store
            .transact(async |tx: &mut Txn| {
                let mut t = tx
                    .get::<LoginThrottle>(key)
                    .await?
                    .map(|v| v.value)
                    .unwrap_or_default();
                t.fail(Utc::now(), self.lockout_threshold, self.max_lockout);
                tx.set(key, &t)?;
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
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
    /// It applies from the account's next token refresh.
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
        let mut user = self.get(uid).await?;
        user.value.role = role;
        let saved = self
            .users
            .update(&user.id, &user.value, user.version)
            .await?;
        tracing::info!(uid, %role, by, "role changed");
        Ok(saved)
    }
}

/// A new account id: 32 random hex digits.
fn new_uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
