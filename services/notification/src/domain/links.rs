//! Unsubscribe links that work without logging in: the token names the
//! user and is signed (HMAC-SHA256) with the service's link key, so only
//! a link the service wrote unsubscribes anyone.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// The most characters of a token accepted.
pub const MAX_TOKEN: usize = 400;

fn mac(key: &[u8], user_id: &str) -> HmacSha256 {
    // Any key length is valid for HMAC.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(b"unsubscribe-marketing:");
    mac.update(user_id.as_bytes());
    mac
}

/// The token of `user_id`'s unsubscribe link.
pub fn token(key: &[u8], user_id: &str) -> String {
    let sig = mac(key, user_id).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(user_id),
        URL_SAFE_NO_PAD.encode(&sig[..20])
    )
}

/// The user a token unsubscribes, if the service signed it.
pub fn verify(key: &[u8], token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let (user, sig) = token.split_once('.')?;
    let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    mac(key, &user).verify_truncated_left(&sig).ok()?;
    (sig.len() == 20).then_some(user)
}

/// The link itself, under the public address.
pub fn url(base: &Url, key: &[u8], user_id: &str) -> String {
    let mut url = base.clone();
    url.set_path("/notifications/unsubscribe");
    url.query_pairs_mut()
        .clear()
        .append_pair("token", &token(key, user_id));
    url.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_signed_tokens_name_a_user() {
        let t = token(b"k1", "user-1");
        assert_eq!(verify(b"k1", &t).as_deref(), Some("user-1"));
        assert_eq!(verify(b"k2", &t), None);
        let (_, sig) = t.split_once('.').unwrap();
        let forged = format!("{}.{sig}", URL_SAFE_NO_PAD.encode("user-2"));
        assert_eq!(verify(b"k1", &forged), None);
        assert_eq!(verify(b"k1", "user-1"), None);
        let short = format!("{}.{}", t.split_once('.').unwrap().0, &sig[..4]);
        assert_eq!(verify(b"k1", &short), None);
    }

    #[test]
    fn links_point_at_the_public_address() {
        let u = url(
            &Url::parse("https://craftchain.example/").unwrap(),
            b"k",
            "u1",
        );
        assert!(u.starts_with("https://craftchain.example/notifications/unsubscribe?token="));
    }
}
