//! EVM wallet addresses, accepted only in their EIP-55 checksummed form so
//! that a mistyped address is caught before anything is paid to it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha3::{Digest, Keccak256};

/// A 20-byte address, displayed with its EIP-55 checksum.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletAddress([u8; 20]);

/// Why a string is not an acceptable address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("must be 0x followed by 40 hexadecimal digits")]
    Malformed,
    #[error("the EIP-55 checksum does not match; the checksummed form is {0}")]
    BadChecksum(String),
}

impl WalletAddress {
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The EIP-55 form: hex digits uppercased where the keccak of the
    /// lowercase hex has a nibble ≥ 8.
    pub fn to_checksum(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = Keccak256::digest(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
            out.push(if c.is_ascii_alphabetic() && nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
        out
    }
}

impl FromStr for WalletAddress {
    type Err = AddressError;

    /// Accepts only the exact checksummed form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").ok_or(AddressError::Malformed)?;
        if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AddressError::Malformed);
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(digits.to_ascii_lowercase(), &mut bytes)
            .map_err(|_| AddressError::Malformed)?;
        let address = WalletAddress(bytes);
        let checksummed = address.to_checksum();
        if checksummed == s {
            Ok(address)
        } else {
            Err(AddressError::BadChecksum(checksummed))
        }
    }
}

impl fmt::Display for WalletAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for WalletAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletAddress({})", self.to_checksum())
    }
}

impl Serialize for WalletAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_checksum())
    }
}

impl<'de> Deserialize<'de> for WalletAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(|e| crate::bounded::message("invalid", e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn eip55_test_vectors_are_accepted() {
        // The examples from EIP-55 itself.
        for a in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let parsed: WalletAddress = a.parse().unwrap();
            assert_eq!(parsed.to_string(), a);
        }
    }

    #[test]
    fn wrong_checksums_and_malformed_addresses_are_refused() {
        let lower = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        assert_eq!(
            lower.parse::<WalletAddress>(),
            Err(AddressError::BadChecksum(
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into()
            ))
        );
        for bad in [
            "",
            "0x",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        ] {
            assert_eq!(
                bad.parse::<WalletAddress>(),
                Err(AddressError::Malformed),
                "{bad}"
            );
        }
    }
}
