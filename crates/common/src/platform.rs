//! The platform's services: each one's name, default port and route
//! prefixes at the gateway, written once (DESIGN.md's table). Each
//! service's `main`, the launcher, the gateway's routes and every other
//! service's default URL for it read them from here.

use url::Url;

/// One service of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceId {
    /// Its name: in config (`CRAFTCHAIN_<NAME>_*`), events and logs.
    pub name: &'static str,
    /// Its port on one machine.
    pub port: u16,
}

/// The first port of a local stack; each service's port is this plus its
/// offset.
pub const BASE_PORT: u16 = 8000;

pub const GATEWAY: ServiceId = ServiceId::new("gateway", 8000);
pub const PRODUCT: ServiceId = ServiceId::new("product", 8001);
pub const ML: ServiceId = ServiceId::new("ml", 8002);
pub const PRICING: ServiceId = ServiceId::new("pricing", 8003);
pub const ANALYTICS: ServiceId = ServiceId::new("analytics", 8004);
pub const BLOCKCHAIN: ServiceId = ServiceId::new("blockchain", 8005);
pub const NOTIFICATION: ServiceId = ServiceId::new("notification", 8006);
pub const MEDIA: ServiceId = ServiceId::new("media", 8007);
pub const AUTH: ServiceId = ServiceId::new("auth", 8008);

/// Every service, in port order.
pub const ALL: [ServiceId; 9] = [
    GATEWAY,
    PRODUCT,
    ML,
    PRICING,
    ANALYTICS,
    BLOCKCHAIN,
    NOTIFICATION,
    MEDIA,
    AUTH,
];

impl ServiceId {
    const fn new(name: &'static str, port: u16) -> Self {
        Self { name, port }
    }

    /// Its port's distance from [`BASE_PORT`].
    pub const fn offset(self) -> u16 {
        self.port - BASE_PORT
    }

    /// Its port in a stack whose first port is `base`.
    pub fn port_from(self, base: u16) -> u16 {
        base.saturating_add(self.offset())
    }

    /// Its base URL on this machine at its default port.
    pub fn local_url(self) -> Url {
        crate::config::local_url(self.port)
    }

    /// The service called `name`.
    pub fn named(name: &str) -> Option<ServiceId> {
        ALL.into_iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_its_own_port_and_name() {
        for (i, a) in ALL.iter().enumerate() {
            assert_eq!(usize::from(a.offset()), i, "{a:?} out of port order");
            assert_eq!(ServiceId::named(a.name), Some(*a));
            for b in &ALL[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(AUTH.port_from(18_000), 18_008);
        assert_eq!(ServiceId::named("nope"), None);
    }
}
