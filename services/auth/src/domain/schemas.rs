//! The credential rules of [`credentials`](super::credentials) as API
//! descriptions: what an email address and a new password must be.

use utoipa::openapi::schema::{
    AllOfBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type,
};

use super::credentials::{
    COMMON, EMAIL_MAX_LEN, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PASSWORD_MIN_DISTINCT,
};
#[cfg(doc)]
use super::credentials::{Email, check_password};

/// The shape of an address [`Email::parse`] accepts (besides the total of
/// 254 characters and a local part of at most 64): a local part of
/// letters, digits and the marks RFC 5322 allows unquoted, in runs
/// separated by single dots; `@`; then two or more dot-separated labels of
/// letters, digits and inner hyphens (1–63 characters each), the last of 2
/// or more letters.
pub const EMAIL_PATTERN: &str = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\
    @([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$";

/// The local part (before `@`) has at most 64 characters.
pub const EMAIL_LOCAL_PART_PATTERN: &str = "^[^@]{1,64}@";

/// The API description of an email address as [`Email::parse`] checks it
/// (the server also accepts surrounding spaces and trims them).
pub fn email_schema() -> Schema {
    AllOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                .max_length(Some(EMAIL_MAX_LEN))
                .pattern(Some(EMAIL_PATTERN)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(EMAIL_LOCAL_PART_PATTERN)),
        )
        .description(Some(
            "An email address (compared case-insensitively): at most 254 characters, \
             a local part of at most 64.",
        ))
        .examples(["meera@example.in"])
        .build()
        .into()
}

/// The rules of [`check_password`] that a pattern can say, as one
/// (ECMA-262) regular expression: not one of [`COMMON`] in any case (a
/// lookahead at the start), and at least [`PASSWORD_MIN_DISTINCT`]
/// different characters (each group captures the last occurrence of a
/// character, later than the one before).
pub fn password_pattern() -> String {
    let common: Vec<String> = COMMON
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let mut pattern = format!("^(?!(?:{})$)", common.join("|"));
    for i in 1..=PASSWORD_MIN_DISTINCT {
        pattern.push_str(&format!(r"[\s\S]*?([\s\S])(?![\s\S]*\{i})"));
    }
    pattern
}

/// The API description of a new password as [`check_password`] checks it.
pub fn password_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(PASSWORD_MIN_CHARS))
        .max_length(Some(PASSWORD_MAX_CHARS))
        .pattern(Some(password_pattern()))
        .description(Some(
            "10 to 128 characters, at least 5 of them different, and not a commonly used \
             password (the pattern lists the ones refused, in any case). Also refused (422), \
             beyond what a schema can say: a password containing the part of the email \
             before `@` when that part has 4 or more characters.",
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_pattern_is_built_from_the_rules() {
        assert!(
            COMMON
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
        let pattern = password_pattern();
        assert!(pattern.starts_with("^(?!(?:[pP][aA][sS][sS][wW][oO][rR][dD]|"));
        assert!(pattern.ends_with(r"(?![\s\S]*\5)"));
        assert_eq!(pattern.matches("([\\s\\S])").count(), PASSWORD_MIN_DISTINCT);
    }
}
