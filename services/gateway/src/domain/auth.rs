//! Who is calling: the bearer token verified once and cached until it
//! expires (with the caller's rate-limit key), and the gateway's own ID
//! token for an upstream on Cloud Run.

use std::sync::Arc;
use std::time::Duration;

use common::identity::{Caller, VerifyError};
use common::tokens::TokenProvider;
use common::{ApiError, RequestContext};
use http::header::{self, HeaderValue};

use crate::domain::upstream::Upstream;
use crate::state::Gateway;

/// The gateway's ID token for `upstream`, as an
/// `X-Serverless-Authorization` value.
pub(crate) async fn upstream_token(
    tokens: &dyn TokenProvider,
    upstream: &Upstream,
) -> Result<HeaderValue, String> {
    // A metadata server that does not answer must not hold requests up.
    let token = tokio::time::timeout(ID_TOKEN_WAIT, tokens.token(&upstream.audience))
        .await
        .map_err(|_| "the metadata server did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    value.set_sensitive(true);
    Ok(value)
}

/// How long a request waits for an ID token before it is answered 503.
pub(crate) const ID_TOKEN_WAIT: Duration = Duration::from_secs(2);

/// A verified token's caller, cached (shared, never copied) until the
/// token expires.
pub struct Verified {
    pub uid: String,
    /// The caller's rate-limit key.
    pub rate_key: Arc<str>,
    /// When the token expires (Unix seconds).
    pub exp: i64,
    /// When it was issued, checked against the user's revocations on every
    /// request (cached or not).
    pub iat: i64,
}

/// The verified caller, `None` on a public route without a token.
pub(crate) async fn authenticate(
    gw: &Gateway,
    headers: &http::HeaderMap,
    public: bool,
) -> Result<Option<Arc<Verified>>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return if public {
            Ok(None)
        } else {
            Err(ApiError::unauthorized("this route needs a bearer token"))
        };
    };
    let token = value
        .to_str()
        .ok()
        .and_then(common::context::bearer_token)
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    let now = chrono::Utc::now().timestamp();
    let revoked = || ApiError::from(VerifyError::Revoked);
    if let Some(verified) = gw.tokens.get(token)
        && verified.exp > now
    {
        if gw
            .auth
            .revocations()
            .is_revoked(&verified.uid, verified.iat)
        {
            return Err(revoked());
        }
        RequestContext::record_user(&verified.uid);
        return Ok(Some(verified));
    }
    let claims = gw.auth.primary().verify(token).await?;
    if gw.auth.revocations().is_revoked(&claims.sub, claims.iat) {
        return Err(revoked());
    }
    let caller = Caller::from_claims(&claims)?;
    let verified = Arc::new(Verified {
        rate_key: Arc::from(format!("u:{}", caller.uid)),
        uid: caller.uid,
        exp: claims.exp,
        iat: claims.iat,
    });
    gw.tokens.insert(token.to_owned(), verified.clone());
    RequestContext::record_user(&verified.uid);
    Ok(Some(verified))
}
