//! Verifies RS256 ID tokens: cheap structural checks first, then the
//! signature with the cached key for the token's kid, then the claims.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use super::cache::{CachePolicy, KeyCache};
use super::error::VerifyError;
use super::roles::Claims;
use super::source::KeySource;

/// The longest token we look at.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest `kid` and the longest `sub`.
const MAX_KID_LEN: usize = 128;
const MAX_SUB_CHARS: usize = 128;

/// What a [`Verifier`] accepts and how it caches keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// The only accepted `iss`.
    pub issuer: String,
    /// The only accepted `aud`.
    pub audience: String,
    /// Clock skew allowed on `exp`, `iat`, `nbf` and `auth_time` (60 s).
    pub leeway: Duration,
    /// An unknown kid triggers at most one refetch per interval (30 s).
    pub min_refetch_interval: Duration,
    /// Keys stay fresh at least this long, whatever `max-age` says (60 s).
    pub min_cache: Duration,
    /// … and at most this long (6 h).
    pub max_cache: Duration,
    /// Expired keys are still used this long while the source fails (1 h).
    pub max_stale: Duration,
}

impl VerifierConfig {
    /// Accepts tokens from `issuer` for `audience`, with the default timings.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        VerifierConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Duration::from_secs(60),
            min_refetch_interval: Duration::from_secs(30),
            min_cache: Duration::from_secs(60),
            max_cache: Duration::from_secs(6 * 3600),
            max_stale: Duration::from_secs(3600),
        }
    }

    /// Accepts Firebase ID tokens of this Firebase project.
    pub fn firebase(project_id: &str) -> Self {
        VerifierConfig::new(
            format!("https://securetoken.google.com/{project_id}"),
            project_id,
        )
    }
}

/// Verifies ID tokens against one issuer, audience and key source. Cheap to
/// clone; clones share the key cache.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: VerifierConfig,
    validation: Validation,
    cache: KeyCache,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.config.issuer)
            .field("audience", &self.inner.config.audience)
            .field("source", &self.inner.cache.describe())
            .finish()
    }
}

impl Verifier {
    /// A verifier with an empty cache; keys are fetched on first use (or by
    /// [`Verifier::warm`]).
    pub fn new(config: VerifierConfig, source: Arc<dyn KeySource>) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let policy = CachePolicy {
            min_refetch_interval: config.min_refetch_interval,
            min_cache: config.min_cache,
            max_cache: config.max_cache,
            max_stale: config.max_stale,
        };
        Verifier {
            inner: Arc::new(Inner {
                config,
                validation,
                cache: KeyCache::new(source, policy),
            }),
        }
    }

    /// What this verifier accepts.
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// Fetches keys now, so the first request does not wait for them.
    pub async fn warm(&self) -> Result<(), VerifyError> {
        self.inner.cache.warm().await
    }

    /// The verified claims of `token`, or why it is refused.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let kid = inspect(token)?;
        let key = self.inner.cache.key(&kid).await?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &self.inner.validation)
            .map_err(|e| map_jwt_error(e.kind()))?
            .claims;
        check_claims(&claims, &self.inner.config, chrono::Utc::now().timestamp())?;
        Ok(claims)
    }
}

/// Whether `kid` is 1–128 characters of `[A-Za-z0-9_-]`.
pub(crate) fn is_valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// True whenever the member exists, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The three parts of a compact JWS of at most 8 KiB, all base64url.
fn split(token: &str) -> Result<[&str; 3], VerifyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if header.is_empty()
        || payload.is_empty()
        || ![header, payload, signature].iter().all(|p| base64url(p))
    {
        return Err(VerifyError::Malformed);
    }
    Ok([header, payload, signature])
}

/// Structural checks that need no key; returns the header's kid.
fn inspect(token: &str) -> Result<String, VerifyError> {
    let [header, _, signature] = split(token)?;
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed)?;
    let header: RawHeader = serde_json::from_slice(&header).map_err(|_| VerifyError::Malformed)?;
    if header.alg.as_deref() != Some("RS256") {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    if header.jwk || header.jku || header.x5u || header.x5c || header.crit {
        return Err(VerifyError::ForbiddenHeader);
    }
    let kid = header.kid.ok_or(VerifyError::MissingKid)?;
    if !is_valid_kid(&kid) {
        return Err(VerifyError::InvalidKid);
    }
    if signature.is_empty() {
        return Err(VerifyError::BadSignature);
    }
    Ok(kid)
}

/// The unverified `iss` of a token, to pick a verifier. Never trust it.
pub(crate) fn peek_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: Option<String>,
    }
    let [_, payload, _] = split(token).ok()?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&payload).ok()?.iss
}

fn map_jwt_error(kind: &ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::IssuedInFuture,
        ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
        ErrorKind::InvalidAudience => VerifyError::WrongAudience,
        ErrorKind::InvalidSubject => VerifyError::InvalidSubject,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => VerifyError::WrongIssuer,
            "aud" => VerifyError::WrongAudience,
            "sub" => VerifyError::InvalidSubject,
            _ => VerifyError::Malformed,
        },
        ErrorKind::InvalidAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => VerifyError::UnsupportedAlgorithm,
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat | ErrorKind::Provider(_) => {
            tracing::warn!(error = ?kind, "a published verification key is unusable");
            VerifyError::BadSignature
        }
        _ => VerifyError::Malformed,
    }
}

/// The checks jsonwebtoken does not do (or does not do exactly as we want).
fn check_claims(claims: &Claims, config: &VerifierConfig, now: i64) -> Result<(), VerifyError> {
    let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
    let latest = now.saturating_add(leeway);
    if claims.exp.saturating_add(leeway) < now {
        return Err(VerifyError::Expired);
    }
    if claims.iat > latest || claims.auth_time.is_some_and(|t| t > latest) {
        return Err(VerifyError::IssuedInFuture);
    }
    if claims.iss != config.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if claims.aud != config.audience {
        return Err(VerifyError::WrongAudience);
    }
    if claims.sub.is_empty() || claims.sub.chars().count() > MAX_SUB_CHARS {
        return Err(VerifyError::InvalidSubject);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn kids_are_short_and_url_safe() {
        assert!(is_valid_kid("a1B2_c3-d4"));
        assert!(is_valid_kid(&"k".repeat(128)));
        for bad in [
            "",
            "../../etc/passwd",
            "a/b",
            "a.b",
            "kid ",
            "ключ",
            &"k".repeat(129),
        ] {
            assert!(!is_valid_kid(bad), "{bad:?}");
        }
    }

    #[test]
    fn split_rejects_wrong_shapes() {
        for bad in [
            "", "a", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.c=", "a+b.c.d", "a.b/c.d",
        ] {
            assert!(matches!(split(bad), Err(VerifyError::Malformed)), "{bad:?}");
        }
        assert!(split("a.b.").is_ok());
        assert!(split(&format!("{}.b.c", "a".repeat(MAX_TOKEN_BYTES))).is_err());
    }

    #[test]
    fn header_members_are_forbidden_even_when_null() {
        let token = |header: &str| format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header));
        let forbidden = token(r#"{"alg":"RS256","kid":"k","jku":null}"#);
        assert!(matches!(
            inspect(&forbidden),
            Err(VerifyError::ForbiddenHeader)
        ));
        let duplicate = token(r#"{"alg":"none","alg":"RS256","kid":"k"}"#);
        assert!(matches!(inspect(&duplicate), Err(VerifyError::Malformed)));
        let no_alg = token(r#"{"kid":"k"}"#);
        assert!(matches!(
            inspect(&no_alg),
            Err(VerifyError::UnsupportedAlgorithm)
        ));
        let lower = token(r#"{"alg":"rs256","kid":"k"}"#);
        assert!(matches!(
            inspect(&lower),
            Err(VerifyError::UnsupportedAlgorithm)
        ));
        assert_eq!(
            inspect(&token(r#"{"alg":"RS256","kid":"k"}"#)).unwrap(),
            "k"
        );
    }

    #[test]
    fn peek_issuer_reads_the_unverified_payload() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"iss":"https://accounts.google.com"}"#);
        let token = format!("e30.{payload}.c2ln");
        assert_eq!(
            peek_issuer(&token).as_deref(),
            Some("https://accounts.google.com")
        );
        assert_eq!(peek_issuer("garbage"), None);
    }
}
