//! The auth service's state: its accounts, sessions, token issuer and the
//! authenticator of the tokens it issued.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use common::identity::Authenticator;

use crate::domain::accounts::Accounts;
use crate::domain::sessions::Sessions;
use crate::domain::tokens::Issuer;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub issuer: Issuer,
    pub auth: Arc<Authenticator>,
    /// Whether `X-Forwarded-For` names the client (see `Settings`).
    pub trust_forwarded_for: bool,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The address of the client a request came from: the last entry of
/// `X-Forwarded-For` when the gateway is trusted to have set it, else the
/// peer of the connection (unspecified when neither is known).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .filter_map(|v| v.trim().parse::<IpAddr>().ok())
                    .next_back()
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddress(
            forwarded
                .or(peer)
                .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)),
        ))
    }
}
