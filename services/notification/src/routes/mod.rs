//! HTTP routes of the notification service.

pub mod campaigns;
pub mod messages;
pub mod preferences;
pub mod templates;
pub mod webhooks;

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(tags(
    (name = "notifications", description = "Send, the delivery log and the in-app inbox"),
    (name = "preferences", description = "Channels, quiet hours, language; unsubscribe links"),
    (name = "templates", description = "Versioned templates per language"),
    (name = "webhooks", description = "Signed webhooks (Standard Webhooks)"),
    (name = "campaigns", description = "Marketing to an audience, throttled, within preferences"),
))]
struct ApiDoc;

/// Every route of the service, with its description.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(messages::router())
        .merge(preferences::router())
        .merge(templates::router())
        .merge(webhooks::router())
        .merge(campaigns::router())
        .with_state(state)
}
