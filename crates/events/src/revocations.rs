//! `POST /events/revocations`: where every service (the gateway too)
//! receives `user.tokens_revoked` and records the user's new "tokens valid
//! after" time in its authenticator, so ID tokens issued before it are
//! refused from then on. Recording is idempotent (the latest time wins), so
//! no store is needed and a repeated delivery is harmless. Only the
//! publisher may call it, like `/events/push`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json as AxumJson, Router};
use common::identity::{Authenticator, MAX_CLOCK_SKEW_SECS};
use common::{ApiError, Caller, Json};

use crate::envelope::Event as _;
use secrecy::SecretString;

use crate::push::{Publishers, PushOutcome, PushQuery, PushRequest, decode};
use crate::v1::UserTokensRevoked;

/// Where the relay delivers `user.tokens_revoked` at each service.
pub const REVOCATIONS_PATH: &str = "events/revocations";

/// The `/events/revocations` route, feeding `auth`'s revocations; pushes
/// come from the publisher, or carry `push_token` (see
/// [`push_router_with_token`](crate::push_router_with_token)).
pub fn revocations_router(auth: Arc<Authenticator>, push_token: Option<SecretString>) -> Router {
    Router::new()
        .route(&format!("/{REVOCATIONS_PATH}"), post(receive))
        .with_state(RevocationState {
            auth,
            publishers: Publishers::new(push_token),
        })
}

#[derive(Clone)]
struct RevocationState {
    auth: Arc<Authenticator>,
    publishers: Publishers,
}

impl axum::extract::FromRef<RevocationState> for Arc<Authenticator> {
    fn from_ref(state: &RevocationState) -> Self {
        state.auth.clone()
    }
}

async fn receive(
    State(state): State<RevocationState>,
    query: Result<Query<PushQuery>, QueryRejection>,
    caller: Result<Caller, ApiError>,
    body: Result<Json<PushRequest>, ApiError>,
) -> Result<AxumJson<PushOutcome>, ApiError> {
    state.publishers.authorize(caller, query)?;
    let Json(request) = body?;
    let event = decode(&request)?;
    let auth = &state.auth;
    let event_id = event.event_id().to_owned();
    if event.event_type() != UserTokensRevoked::TYPE {
        return Ok(AxumJson(PushOutcome {
            event_id,
            outcome: "ignored".to_owned(),
        }));
    }
    let revoked = event
        .decode::<UserTokensRevoked>()
        .map_err(|e| ApiError::bad_request(crate::codes::EVENT_REJECTED, e.to_string()))?;
    if revoked.user_id.is_empty() || revoked.user_id.len() > 128 {
        return Err(ApiError::bad_request(
            crate::codes::EVENT_REJECTED,
            "user_id must be 1 to 128 characters",
        ));
    }
    // A time in the future would void tokens not yet issued (a user locked
    // out until then): only the auth service's clock, give or take the
    // leeway every verifier allows, is believed.
    let now = chrono::Utc::now().timestamp();
    if revoked.valid_after > now + MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::bad_request(
            crate::codes::EVENT_REJECTED,
            "valid_after is in the future",
        ));
    }
    auth.revocations()
        .record(&revoked.user_id, revoked.valid_after, now);
    tracing::info!(
        event_id,
        uid = revoked.user_id,
        reason = revoked.reason,
        "tokens revoked"
    );
    Ok(AxumJson(PushOutcome {
        event_id,
        outcome: "applied".to_owned(),
    }))
}
