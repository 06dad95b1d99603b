//! Which service a request goes to, whether it needs a token, and which
//! quota it counts against. Paths are checked as received (still
//! percent-encoded): anything that could be read as a different path by a
//! server behind us — dot segments, encoded dots or slashes, backslashes,
//! empty segments — is refused, so no trick reaches another service or an
//! internal route (`/events/push`, `/admin`, `/metrics` live outside every
//! prefix).

use http::Method;

/// Which quota a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Sign-up, login, refresh: per client IP, strict.
    Auth,
    Write,
    Read,
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The upstream service.
    pub service: &'static str,
    /// The public prefix it matched, e.g. `/orders` (for logs).
    pub prefix: &'static str,
    /// Reachable without a token.
    pub public: bool,
    pub class: Class,
}

/// Public prefix → service.
pub const PREFIXES: &[(&str, &str)] = &[
    ("auth", "auth"),
    ("products", "product"),
    ("orders", "product"),
    ("ml", "ml"),
    ("pricing", "pricing"),
    ("analytics", "analytics"),
    ("blockchain", "blockchain"),
    ("notifications", "notification"),
    ("media", "media"),
];

/// Routes of services that only other services may call.
const INTERNAL: &[&str] = &["/auth/service-token"];

/// The route for a request, or `None` (→ 404) when the path is unknown,
/// internal or not in canonical form.
pub fn route(method: &Method, path: &str) -> Option<Route> {
    if !is_canonical(path)
        || INTERNAL.iter().any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    {
        return None;
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    let first = *segments.first()?;
    let &(prefix, service) = PREFIXES.iter().find(|(p, _)| *p == first)?;
    let prefix = match prefix {
        "auth" => "/auth",
        "products" => "/products",
        "orders" => "/orders",
        "ml" => "/ml",
        "pricing" => "/pricing",
        "analytics" => "/analytics",
        "blockchain" => "/blockchain",
        "notifications" => "/notifications",
        _ => "/media",
    };
    let read = matches!(*method, Method::GET | Method::HEAD);
    let public = match (first, &segments[1..]) {
        ("auth", ["signup" | "login" | "refresh" | "logout"]) => *method == Method::POST,
        ("auth", [".well-known", "jwks.json"]) => read,
        ("products", ["search"]) => *method == Method::POST,
        // Payment providers call in; the webhook's signature is its proof.
        ("orders", ["payments", "webhook", _]) => *method == Method::POST,
        ("products", [] | [_]) => read,
        ("media", [_, "content", _]) => read,
        // What the chain says is public anyway: token metadata (wallets and
        // marketplaces fetch tokenURI without a token) and verification.
        ("blockchain", ["metadata" | "provenance", _]) => read,
        // Unsubscribe links work without logging in (their token is signed).
        ("notifications", ["unsubscribe"]) => read || *method == Method::POST,
        _ => false,
    };
    let class = match (first, &segments[1..]) {
        ("auth", ["signup" | "login" | "refresh"]) if *method == Method::POST => Class::Auth,
        _ if read => Class::Read,
        ("products", ["search"]) => Class::Read,
        _ => Class::Write,
    };
    Some(Route {
        service,
        prefix,
        public,
        class,
    })
}

/// A path is canonical when it starts with `/`, has no empty, `.` or `..`
/// segment, and no encoded dot, slash, backslash, percent or NUL, no
/// backslash and no control character.
fn is_canonical(path: &str) -> bool {
    if !path.starts_with('/') || path.len() > 2048 {
        return false;
    }
    let bytes = path.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\\' || b.is_ascii_control() || b == b' ' {
            return false;
        }
        if b == b'%' {
            let code = path.get(i + 1..i + 3).map(str::to_ascii_lowercase);
            match code.as_deref() {
                Some("2e" | "2f" | "5c" | "25" | "00") | None => return false,
                Some(hex) if !hex.bytes().all(|c| c.is_ascii_hexdigit()) => return false,
                _ => {}
            }
        }
    }
    let rest = &path[1..];
    rest.split('/').enumerate().all(|(i, seg)| {
        !(seg == "." || seg == ".." || (seg.is_empty() && i + 1 < rest.split('/').count()))
    }) && !rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_route_to_their_services() {
        let r = |m: Method, p: &str| route(&m, p).map(|r| r.service);
        assert_eq!(r(Method::GET, "/products"), Some("product"));
        assert_eq!(r(Method::GET, "/orders/o1"), Some("product"));
        assert_eq!(r(Method::POST, "/auth/login"), Some("auth"));
        assert_eq!(r(Method::GET, "/notifications/prefs"), Some("notification"));
        assert_eq!(r(Method::GET, "/productsx"), None);
        assert_eq!(r(Method::GET, "/unknown/x"), None);
        assert_eq!(r(Method::GET, "/"), None);
    }

    #[test]
    fn path_tricks_and_internal_routes_are_refused() {
        for p in [
            "/auth/../events/push",
            "/auth/./me",
            "/auth//me",
            "/products/%2e%2e/admin",
            "/products/%2E%2E%2Fevents%2Fpush",
            "/media/a%2fb",
            "/media/a%5cb",
            "/media/a\\b",
            "/media/a%00",
            "/media/a%252e",
            "/media/a%zz",
            "/media/a%2",
            "/auth/service-token",
            "/events/push",
            "/admin/events/dead-letters",
            "/metrics",
            "//auth/me",
            "auth/me",
        ] {
            assert!(route(&Method::GET, p).is_none(), "{p} routed");
        }
        assert!(route(&Method::GET, "/products/p%20q").is_some());
        assert!(route(&Method::GET, "/products/").is_some());
    }

    #[test]
    fn public_routes_are_exactly_the_allow_list() {
        let public = |m: Method, p: &str| route(&m, p).is_some_and(|r| r.public);
        assert!(public(Method::POST, "/auth/signup"));
        assert!(public(Method::POST, "/auth/login"));
        assert!(public(Method::GET, "/auth/.well-known/jwks.json"));
        assert!(public(Method::GET, "/products"));
        assert!(public(Method::GET, "/products/p1"));
        assert!(public(Method::POST, "/products/search"));
        assert!(public(Method::GET, "/media/m1/content/thumb_webp"));
        assert!(public(Method::GET, "/blockchain/metadata/1"));
        assert!(public(Method::GET, "/blockchain/provenance/1"));
        assert!(public(Method::GET, "/notifications/unsubscribe"));
        assert!(public(Method::POST, "/notifications/unsubscribe"));
        assert!(!public(Method::POST, "/notifications/send"));
        assert!(!public(Method::GET, "/notifications/n1"));
        assert!(!public(Method::POST, "/blockchain/mint-provenance"));
        assert!(!public(Method::POST, "/blockchain/execute-payment"));
        assert!(!public(Method::GET, "/blockchain/wallet/0x0/balance"));
        assert!(!public(Method::POST, "/products"));
        assert!(!public(Method::GET, "/auth/me"));
        assert!(!public(Method::GET, "/products/p1/likes"));
        assert!(!public(Method::GET, "/orders"));
        assert!(!public(Method::POST, "/media/upload"));
        assert!(public(Method::POST, "/orders/payments/webhook/razorpay"));
        assert!(!public(Method::GET, "/orders/payments/webhook/razorpay"));
        assert!(!public(Method::POST, "/orders/o1/checkout"));
        assert!(!public(Method::POST, "/orders/o1/sandbox/succeed"));
        assert_eq!(
            route(&Method::POST, "/auth/login").map(|r| r.class),
            Some(Class::Auth)
        );
        assert_eq!(
            route(&Method::POST, "/orders").map(|r| r.class),
            Some(Class::Write)
        );
        assert_eq!(
            route(&Method::GET, "/orders").map(|r| r.class),
            Some(Class::Read)
        );
    }
}
