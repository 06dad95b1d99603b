//! HTTP routes of the media service.

pub mod content;
pub mod manage;
pub mod upload;
