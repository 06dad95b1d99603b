//! Cursor pagination on the wire: `?limit=&cursor=` in, and
//! `{"items": [...], "next_cursor": "..." | null}` out.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 100;

/// `limit` and `cursor` query parameters, bounded.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size, or a 422 naming `limit` when out of range.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT as usize),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n as usize),
            Some(_) => Err(ApiError::invalid_field(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// The 400 a malformed or foreign cursor gets.
pub fn invalid_cursor() -> ApiError {
    ApiError::invalid_field(
        "cursor",
        "invalid",
        "this cursor is not valid for this list",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        let p = |limit| PageParams {
            limit,
            cursor: None,
        };
        assert_eq!(p(None).limit().ok(), Some(20));
        assert_eq!(p(Some(100)).limit().ok(), Some(100));
        assert!(p(Some(0)).limit().is_err());
        assert!(p(Some(101)).limit().is_err());
    }
}
