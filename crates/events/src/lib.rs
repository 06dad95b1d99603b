//! Events: the schemas generated from `proto/craftchain/events/v1`, the
//! envelope they travel in, the transactional outbox a service writes them
//! to (in the same store transaction as the change), the relay that pushes
//! them to subscribers in Pub/Sub's push format, and the `/events/push`
//! endpoint a consumer receives them on, applying each event once.

mod admin;
mod base;
mod envelope;
pub mod money;
mod outbox;
mod problem;
mod pubsub;
mod push;
mod relay;
mod revocations;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

/// Messages generated from the protobuf schemas.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/craftchain.events.v1.rs"));
}

pub use admin::dead_letter_router;
pub use base::{ServiceBase, open_store};
pub use envelope::{ALL_TYPES, DecodeError, Event, Received};
pub use outbox::{Lease, OutboxEntry, OutboxStatus, Publisher, outbox_indexes};
pub use problem::{STORE_RETRY, store_problem};
pub use push::{
    ConsumeError, Consumer, PushMessage, PushOutcome, PushRequest, push_router,
    push_router_with_token,
};
pub use relay::Relay;
pub use revocations::{REVOCATIONS_PATH, revocations_router};

use std::sync::Arc;

/// The problem codes of the event endpoints.
pub mod codes {
    use common::error::Code;

    /// 409: only a dead-lettered event can be replayed.
    pub const NOT_DEAD: Code = Code::new("not_dead");
    /// 409: the outbox entry changed meanwhile.
    pub const CHANGED: Code = Code::new("changed");
    /// 400: the consumer can never apply this event.
    pub const EVENT_REJECTED: Code = Code::new("event_rejected");

    /// Every code above.
    pub const ALL: &[Code] = &[NOT_DEAD, CHANGED, EVENT_REJECTED];
}

use common::identity::Authenticator;
use common::{Service, SharedConfig};
use store::{Store, StoreResult};

/// What every service that verifies tokens with `auth` adds, the gateway
/// included (it has no store, so no [`attach`]): `/metrics` guarded by
/// `auth`, `/events/revocations` feeding its revocations, and a background
/// task loading the revocations in force from the auth service at start.
pub fn verifies_tokens(
    service: Service,
    shared: &SharedConfig,
    auth: Arc<Authenticator>,
) -> Service {
    let auth_service = common::ServiceClient::new(
        "auth",
        shared.service_auth.auth_url.clone(),
        common::tokens::from_config(shared),
    );
    let loader = auth.clone();
    service
        .ops_authenticator(auth.clone())
        .merge(revocations_router(auth, shared.events.push_token.clone()))
        .background("revocations", move |cancel| async move {
            loader
                .revocations()
                .load_at_start(auth_service, cancel)
                .await;
        })
}

/// Wire a service to the event backbone: the outbox index, the relay as a
/// background task, the dead-letter admin routes and, for a service that
/// consumes events, `/events/push`.
pub async fn attach(
    service: Service,
    store: &Store,
    shared: &SharedConfig,
    auth: Arc<Authenticator>,
    consumer: Option<Arc<dyn Consumer>>,
) -> StoreResult<Service> {
    store.ensure_indexes(&outbox_indexes()).await?;
    let relay = Relay::new(store, shared);
    let mut service = verifies_tokens(service, shared, auth.clone())
        .merge(dead_letter_router(store, auth.clone()))
        .background("relay", move |cancel| relay.run(cancel));
    if let Some(consumer) = consumer {
        service = service.merge(push_router_with_token(
            store.clone(),
            consumer,
            auth,
            shared.events.push_token.clone(),
        ));
    }
    Ok(service)
}
