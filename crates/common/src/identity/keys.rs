//! RSA signing keys the auth service issues RS256 tokens with, and the JWK
//! types it publishes them as at `/.well-known/jwks.json`.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::verifier::is_valid_kid;

/// The smallest RSA modulus we sign or verify with, in bytes (2048 bits).
pub(crate) const MIN_RSA_MODULUS_BYTES: usize = 256;

/// Why a signing key could not be made, loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The crypto library failed to generate a key.
    #[error("RSA key generation failed")]
    Generate,
    /// The text is not a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` block.
    #[error("not a PEM-encoded RSA private key")]
    InvalidPem,
    /// The key was parsed but refused (wrong type, too small, inconsistent).
    #[error("RSA private key rejected: {0}")]
    Rejected(String),
    /// The key id is empty, longer than 128 characters or not `[A-Za-z0-9_-]`.
    #[error("invalid key id")]
    InvalidKid,
    /// Serializing the header or claims failed.
    #[error("could not serialize the token: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The crypto library failed to sign or export the key.
    #[error("RSA operation failed")]
    Crypto,
}

/// An RSA-2048 private key with its key id. `Debug` shows only the kid.
pub struct SigningKey {
    kid: String,
    key_pair: KeyPair,
    pkcs8_der: SecretSlice<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh RSA-2048 key; its kid is the first 16 hex digits of the
    /// SHA-256 of its public key (DER).
    pub fn generate() -> Result<SigningKey, KeyError> {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let digest = Sha256::digest(key_pair.public_key().as_ref());
        let kid = hex::encode(&digest[..8]);
        SigningKey::new(kid, key_pair)
    }

    /// Loads a PEM private key: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY`
    /// (PKCS#1), at least 2048 bits.
    pub fn from_pkcs8_pem(kid: impl Into<String>, pem: &str) -> Result<SigningKey, KeyError> {
        let kid = kid.into();
        if !is_valid_kid(&kid) {
            return Err(KeyError::InvalidKid);
        }
        let key_pair = if let Some(der) = pem_block(pem, "PRIVATE KEY") {
            KeyPair::from_pkcs8(&der)
        } else if let Some(der) = pem_block(pem, "RSA PRIVATE KEY") {
            KeyPair::from_der(&der)
        } else {
            return Err(KeyError::InvalidPem);
        }
        .map_err(|e| KeyError::Rejected(e.to_string()))?;
        if key_pair.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
            return Err(KeyError::Rejected("smaller than 2048 bits".into()));
        }
        SigningKey::new(kid, key_pair)
    }

    fn new(kid: String, key_pair: KeyPair) -> Result<SigningKey, KeyError> {
        let der = AsDer::<Pkcs8V1Der<'static>>::as_der(&key_pair).map_err(|_| KeyError::Crypto)?;
        Ok(SigningKey {
            kid,
            key_pair,
            pkcs8_der: SecretSlice::from(der.as_ref().to_vec()),
        })
    }

    /// The private key as PKCS#8 PEM, for storing in a secret manager.
    pub fn to_pkcs8_pem(&self) -> SecretString {
        SecretString::from(pem_encode("PRIVATE KEY", self.pkcs8_der.expose_secret()))
    }

    /// The key id written into every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, as published in the JWKS.
    pub fn public_jwk(&self) -> Jwk {
        let components = PublicKeyComponents::<Vec<u8>>::from(self.key_pair.public_key());
        Jwk {
            kty: "RSA".into(),
            alg: Some("RS256".into()),
            key_use: Some("sig".into()),
            kid: Some(self.kid.clone()),
            n: Some(URL_SAFE_NO_PAD.encode(components.n)),
            e: Some(URL_SAFE_NO_PAD.encode(components.e)),
        }
    }

    /// The public half as a key the verifier can use (for in-process use).
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_rsa_der(self.key_pair.public_key().as_ref())
    }

    /// The public key as PKCS#1 DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.key_pair.public_key().as_ref().to_vec()
    }

    /// Signs `claims` as an RS256 JWT whose header is `typ: JWT` and this kid.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, KeyError> {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'static str,
            typ: &'static str,
            kid: &'a str,
        }
        let header = Header {
            alg: "RS256",
            typ: "JWT",
            kid: &self.kid,
        };
        self.sign_with_header(&header, claims)
    }

    /// Signs `claims` under an arbitrary header (RS256 signature whatever the
    /// header says). Only tests call it, to forge hostile headers; a
    /// verifier must refuse what it produces unless the header is the
    /// plain `{"alg":"RS256","typ":"JWT","kid":…}`.
    pub fn sign_with_header(
        &self,
        header: &impl Serialize,
        claims: &impl Serialize,
    ) -> Result<String, KeyError> {
        let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?));
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| KeyError::Crypto)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }
}

/// One JSON Web Key (RFC 7517). Only the members RSA signing keys use;
/// unknown members are ignored when reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `"RSA"` for every key we use.
    #[serde(default)]
    pub kty: String,
    /// Algorithm: `"RS256"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use: `"sig"`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Key id, matched against the token header's `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// RSA modulus, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A JWKS document: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The published keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// The JWKS publishing these signing keys' public halves.
    pub fn from_signing_keys<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> JwkSet {
        JwkSet {
            keys: keys.into_iter().map(SigningKey::public_jwk).collect(),
        }
    }
}

/// The DER inside the first PEM block with this label, if any.
pub(crate) fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty())
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_through_pem_and_debug_hides_it() {
        let key = SigningKey::generate().unwrap();
        assert_eq!(key.kid().len(), 16);
        let pem = key.to_pkcs8_pem();
        assert!(
            pem.expose_secret()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        let loaded = SigningKey::from_pkcs8_pem(key.kid(), pem.expose_secret()).unwrap();
        assert_eq!(loaded.public_jwk(), key.public_jwk());
        assert_eq!(loaded.public_key_der(), key.public_key_der());

        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()));
        assert!(!debug.contains(&key.public_jwk().n.unwrap()[..20]));
        assert!(!debug.contains("PRIVATE"));
    }

    #[test]
    fn public_jwk_has_rs256_members() {
        let key = SigningKey::generate().unwrap();
        let json = serde_json::to_value(key.public_jwk()).unwrap();
        assert_eq!(json["kty"], "RSA");
        assert_eq!(json["alg"], "RS256");
        assert_eq!(json["use"], "sig");
        assert_eq!(json["kid"], key.kid());
        assert_eq!(json["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(json["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
    }

    #[test]
    fn sign_writes_an_rs256_header_with_the_kid() {
        let key = SigningKey::generate().unwrap();
        let token = key.sign(&serde_json::json!({"sub": "u"})).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
    }

    #[test]
    fn loading_rejects_garbage_and_bad_kids() {
        assert!(matches!(
            SigningKey::from_pkcs8_pem("k1", "not a pem"),
            Err(KeyError::InvalidPem)
        ));
        let bogus = pem_encode("PRIVATE KEY", b"definitely not a key");
        assert!(matches!(
            SigningKey::from_pkcs8_pem("k1", &bogus),
            Err(KeyError::Rejected(_))
        ));
        let key = SigningKey::generate().unwrap();
        let pem = key.to_pkcs8_pem();
        assert!(matches!(
            SigningKey::from_pkcs8_pem("../etc", pem.expose_secret()),
            Err(KeyError::InvalidKid)
        ));
    }
}
