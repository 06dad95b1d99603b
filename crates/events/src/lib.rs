//! Events: the schemas generated from `proto/craftchain/events/v1`, the
//! envelope they travel in, the transactional outbox a service writes them
//! to (in the same store transaction as the change), the relay that pushes
//! them to subscribers in Pub/Sub's push format, and the `/events/push`
//! endpoint a consumer receives them on, applying each event once.

mod admin;
mod envelope;
mod outbox;
mod push;
mod relay;

/// Messages generated from the protobuf schemas.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/craftchain.events.v1.rs"));
}

pub use admin::dead_letter_router;
pub use envelope::{ALL_TYPES, DecodeError, Event, Received};
pub use outbox::{OutboxEntry, OutboxStatus, Publisher, outbox_indexes};
pub use push::{ConsumeError, Consumer, PushMessage, PushOutcome, PushRequest, push_router};
pub use relay::Relay;
