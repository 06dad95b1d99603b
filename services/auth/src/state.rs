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
    /// Whether the gateway's client-address header names the client (see
    /// `Settings`).
    pub trust_client_address_header: bool,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The address of the client a request came from: the gateway's
/// `X-CraftChain-Client-Address` when it is trusted (not `X-Forwarded-For`,
/// to which Cloud Run appends the gateway's own address), else the peer of
/// the connection (unspecified when neither is known). IPv6 addresses
/// count by their /64: one host usually holds a whole /64, and counting
/// each address apart would let it rotate past the throttle.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .trust_client_address_header
            .then(|| {
                parts
                    .headers
                    .get(&common::context::CLIENT_ADDRESS)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<IpAddr>().ok())
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = forwarded
            .or(peer)
            .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
        Ok(ClientAddress(prefix_of(ip)))
    }
}

/// An IPv4 address as it is; an IPv6 address as its /64 (an IPv4-mapped
/// one as its IPv4 address).
pub fn prefix_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::prefix_of;

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_ipv4_as_it_is() {
        let a = prefix_of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = prefix_of("2001:db8:1:2:ffff:1:2:3".parse().unwrap());
        let other = prefix_of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(
            prefix_of("::ffff:203.0.113.7".parse().unwrap()),
            prefix_of("203.0.113.7".parse().unwrap())
        );
        assert_eq!(
            prefix_of("203.0.113.7".parse().unwrap()).to_string(),
            "203.0.113.7"
        );
    }
}
