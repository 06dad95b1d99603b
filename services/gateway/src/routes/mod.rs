//! The gateway's HTTP surface: the proxy (its front, claiming every path
//! but the gateway's own) and its own routes, the merged API description.

pub(crate) mod docs;
pub mod proxy;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tower_http::cors::CorsLayer;

pub(crate) use docs::ApiDoc;

use crate::state::Gateway;

/// The merged API page.
pub const ALL_DOCS: &str = "/docs/all";
/// The merged API document.
pub const ALL_SPEC: &str = "/openapi/all.json";

/// Whether `path` is one of the gateway's own routes (left to its router,
/// never proxied).
pub fn is_gateway_route(path: &str) -> bool {
    path == ALL_DOCS || path == ALL_SPEC || path.strip_prefix('/') == Some(events::REVOCATIONS_PATH)
}

/// The gateway's own routes, with CORS.
pub fn router(gateway: Arc<Gateway>, cors: CorsLayer) -> Router {
    Router::new()
        .route(ALL_DOCS, get(docs::all_docs))
        .route(ALL_SPEC, get(docs::all_json))
        .layer(cors)
        .with_state(gateway)
}
