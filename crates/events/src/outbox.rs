//! The transactional outbox: an event is a document written in the same
//! store transaction as the change it announces, so a change is never
//! saved without its event nor an event sent for a change that rolled back.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::Timestamp;
use prost::Message;
use serde::{Deserialize, Serialize};
use store::{Direction, Entity, IndexSpec, StoreResult, Txn};

use crate::envelope::{Event, envelope};

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be delivered (or retried).
    Pending,
    /// Delivered to every subscriber.
    Sent,
    /// Given up after the maximum attempts; can be replayed.
    Dead,
}

/// One event waiting in (or done with) the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    /// The protobuf envelope, base64.
    pub data: String,
    pub created_at: Timestamp,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    /// Subscribers that already acknowledged it (not pushed again).
    #[serde(default)]
    pub delivered_to: Vec<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The relay instance delivering it now, if any: another instance
    /// leaves it (and the later events of its subject) alone until then.
    #[serde(default)]
    pub lease: Option<Lease>,
}

/// A relay instance's hold on an outbox entry while it delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The relay instance (a random id per process).
    pub owner: String,
    pub until: Timestamp,
}

impl Entity for OutboxEntry {
    const COLLECTION: &'static str = "outbox";
}

impl OutboxEntry {
    /// The event this entry carries (an admin reading dead letters, a test
    /// reading what a service published).
    pub fn decode<E: Event>(&self) -> Result<E, crate::DecodeError> {
        let bytes = STANDARD
            .decode(self.data.as_bytes())
            .map_err(|_| crate::DecodeError::Base64)?;
        crate::Received::from_bytes(&bytes)?.decode()
    }
}

/// The index the relay's query needs: pending entries in id (= time) order.
pub fn outbox_indexes() -> Vec<IndexSpec> {
    vec![IndexSpec::new(
        OutboxEntry::COLLECTION,
        &[("status", Direction::Asc)],
    )]
}

/// Writes events into a transaction on behalf of one service.
#[derive(Debug, Clone, Copy)]
pub struct Publisher {
    source: &'static str,
}

impl Publisher {
    pub fn new(source: &'static str) -> Self {
        Self { source }
    }

    /// Add `event` about `subject` to the transaction's writes. Returns the
    /// event id (a UUIDv7, so ids sort by time).
    pub fn emit<E: Event>(&self, tx: &mut Txn, subject: &str, event: &E) -> StoreResult<String> {
        let now = common::time::now();
        let event_id = uuid::Uuid::now_v7().to_string();
        let data =
            STANDARD.encode(envelope(&event_id, self.source, subject, event, now).encode_to_vec());
        let entry = OutboxEntry {
            event_id: event_id.clone(),
            event_type: E::TYPE.to_owned(),
            subject: subject.to_owned(),
            data,
            created_at: now,
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            delivered_to: Vec::new(),
            last_error: None,
            lease: None,
        };
        tx.create(&event_id, &entry)?;
        Ok(event_id)
    }
}
