//! Problem codes: stable, machine-readable, snake_case, and constants.

use std::fmt;

/// A stable, machine-readable problem code: snake_case ASCII (words of
/// `[a-z0-9]` joined by single `_`, starting with a letter). Codes are
/// constants, so a code of any other shape fails to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    /// `code`, which must be snake_case (checked at compile time in a `const`).
    pub const fn new(code: &'static str) -> Code {
        assert!(is_snake_case(code), "a problem code must be snake_case");
        Code(code)
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Whether `code` is snake_case: lowercase ASCII words of letters and
/// digits joined by single underscores, starting with a letter.
pub const fn is_snake_case(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 {
        return false;
    }
    let mut i = 0;
    let mut word_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'_' {
            if word_start {
                return false;
            }
            word_start = true;
        } else if (i == 0 && !b.is_ascii_lowercase())
            || !(b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return false;
        } else {
            word_start = false;
        }
        i += 1;
    }
    !word_start
}

/// The codes every service may answer with (the request pipeline's, the
/// extractors' and the shared helpers').
pub mod codes {
    use super::Code;

    pub const VALIDATION_FAILED: Code = Code::new("validation_failed");
    pub const UNAUTHENTICATED: Code = Code::new("unauthenticated");
    pub const FORBIDDEN: Code = Code::new("forbidden");
    pub const ROUTE_NOT_FOUND: Code = Code::new("route_not_found");
    pub const METHOD_NOT_ALLOWED: Code = Code::new("method_not_allowed");
    pub const NOT_FOUND: Code = Code::new("not_found");
    pub const CONFLICT: Code = Code::new("conflict");
    pub const PRECONDITION_FAILED: Code = Code::new("precondition_failed");
    pub const PRECONDITION_REQUIRED: Code = Code::new("precondition_required");
    pub const RATE_LIMITED: Code = Code::new("rate_limited");
    pub const UNAVAILABLE: Code = Code::new("unavailable");
    pub const OVERLOADED: Code = Code::new("overloaded");
    pub const INTERNAL: Code = Code::new("internal");
    pub const BAD_GATEWAY: Code = Code::new("bad_gateway");
    pub const UNSUPPORTED_MEDIA_TYPE: Code = Code::new("unsupported_media_type");
    pub const PAYLOAD_TOO_LARGE: Code = Code::new("payload_too_large");
    pub const UNREADABLE_BODY: Code = Code::new("unreadable_body");
    pub const MALFORMED_JSON: Code = Code::new("malformed_json");
    pub const BAD_PATH: Code = Code::new("bad_path");
    /// 422: a text model declined to write about the content (a safety
    /// block) — the ML service's, passed on by the services that ask it;
    /// asking again will not help.
    pub const CONTENT_REFUSED: Code = Code::new("content_refused");

    /// Every code above.
    pub const ALL: &[Code] = &[
        VALIDATION_FAILED,
        UNAUTHENTICATED,
        FORBIDDEN,
        ROUTE_NOT_FOUND,
        METHOD_NOT_ALLOWED,
        NOT_FOUND,
        CONFLICT,
        PRECONDITION_FAILED,
        PRECONDITION_REQUIRED,
        RATE_LIMITED,
        UNAVAILABLE,
        OVERLOADED,
        INTERNAL,
        BAD_GATEWAY,
        UNSUPPORTED_MEDIA_TYPE,
        PAYLOAD_TOO_LARGE,
        UNREADABLE_BODY,
        MALFORMED_JSON,
        BAD_PATH,
        CONTENT_REFUSED,
    ];
}

/// A service's own problem codes: `pub mod codes` with one constant each
/// (doc comments kept) and `pub const CODES` listing them all, for the test
/// that walks every service's codes.
///
/// ```
/// common::problem_codes! {
///     /// 409: the buyer has reviewed this product already.
///     ALREADY_REVIEWED = "already_reviewed",
/// }
/// assert_eq!(codes::ALREADY_REVIEWED.as_str(), "already_reviewed");
/// assert_eq!(CODES.len(), 1);
/// ```
#[macro_export]
macro_rules! problem_codes {
    ($($(#[$meta:meta])* $name:ident = $code:literal),+ $(,)?) => {
        /// The problem codes this service defines.
        pub mod codes {
            $($(#[$meta])* pub const $name: $crate::error::Code = $crate::error::Code::new($code);)+
        }
        /// Every code of [`codes`].
        pub const CODES: &[$crate::error::Code] = &[$(codes::$name),+];
    };
}

/// `IntoResponse` for a service's error enum, through its one
/// `From<Error> for ApiError` mapping.
#[macro_export]
macro_rules! problem_response {
    ($error:ty) => {
        impl $crate::__private::axum::response::IntoResponse for $error {
            fn into_response(self) -> $crate::__private::axum::response::Response {
                $crate::__private::axum::response::IntoResponse::into_response(
                    $crate::ApiError::from(self),
                )
            }
        }
    };
}
