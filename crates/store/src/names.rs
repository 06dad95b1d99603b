//! Which collection names and document ids a store accepts: one rule for
//! every backend, so a document written on SQLite could be written on
//! Firestore too.

use crate::{StoreError, StoreResult};

/// Collection names: `^[a-z_][a-z0-9_]{0,62}$`, and not Firestore's
/// reserved `__…__`.
pub(crate) fn validate_collection(name: &str) -> StoreResult<()> {
    let mut bytes = name.bytes();
    let valid = name.len() <= 63
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !reserved(name);
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidName(format!(
            "invalid collection name {name:?}"
        )))
    }
}

/// Document ids: non-empty, at most 512 bytes, no `/`, not `.` or `..`,
/// and not Firestore's reserved `__…__`.
pub(crate) fn validate_id(id: &str) -> StoreResult<()> {
    if id.is_empty()
        || id.len() > 512
        || id.contains('/')
        || id == "."
        || id == ".."
        || reserved(id)
    {
        let shown: String = id.chars().take(64).collect();
        return Err(StoreError::InvalidName(format!(
            "invalid document id {shown:?}"
        )));
    }
    Ok(())
}

/// Firestore reserves names that start and end with two underscores.
fn reserved(name: &str) -> bool {
    name.len() >= 4 && name.starts_with("__") && name.ends_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_either_backend_accepts() {
        for ok in ["a", "user-1", "__x", "x__", "_", "a.b", "ħ€llo", "__"] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(513);
        for bad in ["", ".", "..", "a/b", "__x__", "____", long.as_str()] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn collection_names() {
        for ok in ["users", "_outbox", "conf_x_12ab"] {
            assert!(validate_collection(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Users", "9x", "a-b", "__outbox__"] {
            assert!(validate_collection(bad).is_err(), "{bad}");
        }
    }
}
