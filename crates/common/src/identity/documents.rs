//! Parsing key documents: JWKS, Google's x509 certificate map, and the
//! `Cache-Control` header that says how long they stay fresh.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, DecodingKeyKind};
use reqwest::header::{CACHE_CONTROL, HeaderMap};
use serde::Deserialize;

use super::keys::{Jwk, MIN_RSA_MODULUS_BYTES};
use super::verifier::is_valid_kid;

/// The `max-age` of the `Cache-Control` headers; `no-cache`/`no-store`
/// count as zero.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut found = None;
    let directives = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    for directive in directives {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=")
            && let Ok(seconds) = seconds.trim_matches('"').parse::<u64>()
        {
            found = Some(Duration::from_secs(seconds));
        }
    }
    found
}

/// The usable RS256 keys of a JWKS document; unusable keys are skipped.
pub(crate) fn keys_from_jwks(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut keys = HashMap::new();
    for value in document.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if let Some((kid, key)) = rsa_key_from_jwk(&jwk) {
            keys.entry(kid).or_insert(key);
        }
    }
    Ok(keys)
}

pub(crate) fn rsa_key_from_jwk(jwk: &Jwk) -> Option<(String, DecodingKey)> {
    if jwk.kty != "RSA"
        || jwk.alg.as_deref().is_some_and(|alg| alg != "RS256")
        || jwk
            .key_use
            .as_deref()
            .is_some_and(|key_use| key_use != "sig")
    {
        return None;
    }
    let kid = jwk.kid.as_deref().filter(|kid| is_valid_kid(kid))?;
    let n = URL_SAFE_NO_PAD.decode(jwk.n.as_deref()?).ok()?;
    let e = URL_SAFE_NO_PAD.decode(jwk.e.as_deref()?).ok()?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    if n.len() < MIN_RSA_MODULUS_BYTES || e.is_empty() || e.len() > 8 {
        return None;
    }
    Some((kid.to_owned(), DecodingKey::from_rsa_raw_components(n, e)))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The usable RSA keys of Google's `{"kid": "<PEM certificate>"}` map.
pub(crate) fn keys_from_x509_map(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    let document: HashMap<String, String> =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(document
        .into_iter()
        .filter(|(kid, _)| is_valid_kid(kid))
        .filter_map(|(kid, pem)| {
            let key = DecodingKey::from_rsa_pem(pem.as_bytes()).ok()?;
            let DecodingKeyKind::SecretOrDer(der) = key.kind() else {
                return None;
            };
            let public = aws_lc_rs::rsa::PublicKey::from_der(der).ok()?;
            (public.modulus_len() >= MIN_RSA_MODULUS_BYTES).then_some((kid, key))
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::identity::keys::SigningKey;

    #[test]
    fn max_age_reads_cache_control() {
        let mut headers = HeaderMap::new();
        assert_eq!(max_age(&headers), None);
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=19845, must-revalidate, no-transform"),
        );
        assert_eq!(max_age(&headers), Some(Duration::from_secs(19845)));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        assert_eq!(max_age(&headers), Some(Duration::ZERO));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=abc"));
        assert_eq!(max_age(&headers), None);
    }

    #[test]
    fn jwks_parsing_keeps_only_usable_rs256_keys() {
        let key = SigningKey::generate().unwrap();
        let good = serde_json::to_value(key.public_jwk()).unwrap();
        let mut no_alg = good.clone();
        no_alg["kid"] = "no-alg".into();
        no_alg.as_object_mut().unwrap().remove("alg");
        let mut ps256 = good.clone();
        ps256["kid"] = "ps".into();
        ps256["alg"] = "PS256".into();
        let mut enc = good.clone();
        enc["kid"] = "enc".into();
        enc["use"] = "enc".into();
        let mut traversal = good.clone();
        traversal["kid"] = "../x".into();
        let mut small = good.clone();
        small["kid"] = "small".into();
        small["n"] = "AQAB".into();
        let document = serde_json::json!({"keys": [
            good, no_alg, ps256, enc, traversal, small,
            {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": 7},
        ]});
        let keys = keys_from_jwks(document.to_string().as_bytes()).unwrap();
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        let mut expected = vec![key.kid(), "no-alg"];
        expected.sort_unstable();
        assert_eq!(kids, expected);
        assert!(keys_from_jwks(b"{\"nope\": 1}").is_err());
        assert!(keys_from_jwks(b"<html>").is_err());
    }
}
