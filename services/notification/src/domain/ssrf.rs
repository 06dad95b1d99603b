//! Where a webhook may go. A URL is checked when it is registered and
//! again at every send: its host is resolved, every address it resolves
//! to must be public, and the request is then made to exactly those
//! addresses (no second lookup that a DNS answer could change).
//!
//! IPv4 written in decimal, hex or octal (`2130706433`, `0x7f.1`,
//! `0177.0.0.1`) is normalised by the URL parser (WHATSWG's host parsing)
//! before the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use url::{Host, Url};

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not a valid URL")]
    Invalid,
    #[error("the scheme must be https")]
    Scheme,
    #[error("the URL may not carry a user name or password")]
    Credentials,
    #[error("{host} does not resolve")]
    Unresolved { host: String },
    /// The address stays in logs: answers name no internal address.
    #[error("{host} is not a public address, or resolves to one that is not")]
    NotPublic { host: String, addr: IpAddr },
}

/// Resolves host names (the system's resolver; tests give their own).
#[async_trait]
pub trait Resolver: Send + Sync {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The system's resolver.
pub struct SystemResolver;

#[async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// The policy: https only unless `allow_http`; public addresses only
/// unless `allow_private` (both only for local testing).
#[derive(Clone)]
pub struct Guard {
    pub resolver: Arc<dyn Resolver>,
    pub allow_http: bool,
    pub allow_private: bool,
}

/// A URL that passed, with the addresses to connect to.
#[derive(Debug, Clone)]
pub struct Checked {
    pub url: Url,
    pub addrs: Vec<SocketAddr>,
}

/// How long a host's lookup may take.
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Guard {
    /// Check `raw`: its form, then every address it resolves to.
    pub async fn check(&self, raw: &str) -> Result<Checked, Refused> {
        let url = Url::parse(raw).map_err(|_| Refused::Invalid)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ => return Err(Refused::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Credentials);
        }
        let port = url.port_or_known_default().ok_or(Refused::Invalid)?;
        let addrs = match url.host().ok_or(Refused::Invalid)? {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_owned();
                let unresolved = || Refused::Unresolved { host: name.clone() };
                tokio::time::timeout(LOOKUP_TIMEOUT, self.resolver.resolve(&name, port))
                    .await
                    .map_err(|_| unresolved())?
                    .map_err(|_| unresolved())?
            }
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        if addrs.is_empty() {
            return Err(Refused::Unresolved { host });
        }
        if !self.allow_private
            && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip()))
        {
            tracing::info!(host = %host, addr = %bad.ip(), "a webhook URL refused: not a public address");
            return Err(Refused::NotPublic {
                host,
                addr: bad.ip(),
            });
        }
        Ok(Checked { url, addrs })
    }
}

/// Whether `ip` is a public unicast address a webhook may reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local (cloud metadata among them)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
    ];
    !BLOCKED.iter().any(|(net, bits)| in_v4(ip, *net, *bits))
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], bits: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // Addresses that carry an IPv4 address (mapped, compatible, NAT64,
    // 6to4, Teredo) are refused whole: a translator could reach anything.
    const BLOCKED: &[([u16; 8], u32)] = &[
        ([0, 0, 0, 0, 0, 0, 0, 0], 96), // unspecified, loopback, IPv4-compatible
        ([0, 0, 0, 0, 0, 0xffff, 0, 0], 96), // IPv4-mapped
        ([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), // NAT64
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), // local NAT64
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64), // discard
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), // Teredo
        ([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48), // benchmarking
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
        ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), // unique local
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), // link-local
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), // site-local (deprecated)
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), // multicast
    ];
    !BLOCKED.iter().any(|(net, bits)| in_v6(ip, *net, *bits))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_private_form_is_refused_and_public_ones_pass() {
        for bad in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "0.0.0.0",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
            "::127.0.0.1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad} passed");
        }
        for good in [
            "8.8.8.8",
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
        ] {
            assert!(is_public(good.parse().unwrap()), "{good} refused");
        }
    }

    #[test]
    fn ipv4_in_other_notations_is_normalised_before_the_check() {
        for (raw, ip) in [
            ("https://2130706433/", "127.0.0.1"),
            ("https://0x7f000001/", "127.0.0.1"),
            ("https://0x7f.1/", "127.0.0.1"),
            ("https://0177.0.0.1/", "127.0.0.1"),
            ("https://017700000001/", "127.0.0.1"),
            ("https://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
            ("https://2852039166/", "169.254.169.254"),
            ("https://127.1/", "127.0.0.1"),
            ("https://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
        ] {
            let url = Url::parse(raw).unwrap();
            let host = match url.host().unwrap() {
                Host::Ipv4(v4) => IpAddr::V4(v4),
                Host::Ipv6(v6) => IpAddr::V6(v6),
                Host::Domain(d) => panic!("{raw} kept as the name {d}"),
            };
            assert_eq!(host, ip.parse::<IpAddr>().unwrap(), "{raw}");
            assert!(!is_public(host), "{raw}");
        }
    }
}
